"""Decide whether a URL may be fetched, and which checked addresses to connect to.

Hand-written rather than taken from a library: the maintained SSRF guards found are built for
``requests`` (requests-hardened) or are async/GET-only, and this project uses httpx. The rules
follow the OWASP SSRF cheat sheet: http(s) only, no credentials in the URL, allowed ports only,
every resolved address public (or operator-allowlisted), then connect only to those addresses.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from strongroom.outbound.addresses import (
    IPAddress,
    is_allowed_address,
    looks_numeric,
    parse_ipv4_literal,
)
from strongroom.outbound.errors import BlockedDestination, FetchFailed
from strongroom.outbound.policy import FetchPolicy

Resolver = Callable[[str, int], Sequence[IPAddress]]

DEFAULT_PORTS = {"http": 80, "https": 443}
_HOSTNAME = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?:\.(?!-)[a-z0-9_-]{1,63})*\.?$")


@dataclass(frozen=True)
class Destination:
    """A URL that passed every check, with the addresses it may be fetched from."""

    url: httpx.URL
    host: str
    port: int
    addresses: tuple[IPAddress, ...]
    is_ip_literal: bool

    @property
    def host_header(self) -> str:
        """The ``Host`` header value: the name from the URL, with the port when not default."""
        return self.url.netloc.decode("ascii")


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Resolve ``host`` with the operating system's resolver; raises ``socket.gaierror``."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    found: dict[IPAddress, None] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        found[ipaddress.ip_address(sockaddr[0])] = None
    return list(found)


def check_url(
    url: str, policy: FetchPolicy, *, resolver: Resolver = system_resolver
) -> list[IPAddress]:
    """Return the addresses ``url`` may be fetched from, or raise.

    Raises BlockedDestination when the URL breaks a rule (scheme, credentials, port, or any
    resolved address not public and not allowlisted) and FetchFailed when the name does not
    resolve. No connection is made; the only I/O is the DNS look-up.
    """
    return list(resolve_destination(url, policy, resolver=resolver).addresses)


def resolve_destination(
    url: str | httpx.URL, policy: FetchPolicy, *, resolver: Resolver = system_resolver
) -> Destination:
    """Like ``check_url`` but returns the parsed URL, host, port and addresses together."""
    parsed = _parse(url)
    port = _checked_port(parsed, policy)
    host = parsed.raw_host.decode("ascii").lower()
    literal = _ip_literal(host)
    addresses = (literal,) if literal is not None else _resolve(host, port, resolver)
    networks = policy.networks
    if not all(is_allowed_address(address, networks) for address in addresses):
        raise BlockedDestination("the URL points to an address that is not publicly routable")
    return Destination(parsed, host, port, tuple(addresses), literal is not None)


def _parse(url: str | httpx.URL) -> httpx.URL:
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise BlockedDestination("the URL is malformed") from None
    if parsed.scheme not in DEFAULT_PORTS:
        raise BlockedDestination("only http and https URLs are allowed")
    if parsed.userinfo:
        raise BlockedDestination("credentials in the URL are not allowed")
    if not parsed.raw_host:
        raise BlockedDestination("the URL has no host")
    return parsed


def _checked_port(parsed: httpx.URL, policy: FetchPolicy) -> int:
    port = parsed.port if parsed.port is not None else DEFAULT_PORTS[parsed.scheme]
    if port not in policy.allowed_ports:
        raise BlockedDestination("the URL uses a port that is not allowed")
    return port


def _ip_literal(host: str) -> IPAddress | None:
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise BlockedDestination("the URL is malformed") from None
    if looks_numeric(host):
        address = parse_ipv4_literal(host)
        if address is None:
            raise BlockedDestination("the URL is malformed")
        return address
    if not _HOSTNAME.match(host):
        raise BlockedDestination("the URL is malformed")
    if host.rstrip(".") == "localhost" or host.rstrip(".").endswith(".localhost"):
        # RFC 6761: these names are loopback by definition, whatever DNS says.
        raise BlockedDestination("the URL points to an address that is not publicly routable")
    return None


def _resolve(host: str, port: int, resolver: Resolver) -> tuple[IPAddress, ...]:
    try:
        addresses = tuple(resolver(host, port))
    except (OSError, UnicodeError):
        raise FetchFailed("the host name could not be resolved") from None
    if not addresses:
        raise FetchFailed("the host name could not be resolved")
    return addresses
