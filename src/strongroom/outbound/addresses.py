"""Classify IP addresses and parse the IP literals a URL host may spell.

``ipaddress.is_global`` alone is not enough: its tables have had wrong entries (CVE-2024-4032)
and some ranges that route to internal services count as global (NAT64, 6to4, 192.0.0.0/24), so
an explicit deny-list is checked as well, and addresses that embed an IPv4 address are judged by
the embedded one.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from strongroom.outbound.policy import IPNetwork

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DENIED_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "255.255.255.255/32",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "2001:db8::/32",
        "fd00:ec2::254/128",
    )
)

# WHATWG URL rule: a host whose last label is a number is an IPv4 address, in any of the
# legacy spellings inet_aton accepts (decimal, octal with a leading 0, hex with 0x, 1-4 parts).
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)


def canonical_address(ip: IPAddress) -> IPAddress:
    """Return the IPv4 address embedded in a mapped, 6to4 or Teredo IPv6 address, else ``ip``."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip.teredo is not None:
            return ip.teredo[1]
    return ip


def is_allowed_address(ip: IPAddress, allow_networks: Iterable[IPNetwork]) -> bool:
    """True when ``ip`` may be contacted: inside an operator allowlist, or public and not denied."""
    candidates = {ip, canonical_address(ip)}
    if any(_within(addr, allow_networks) for addr in candidates):
        return True
    return all(addr.is_global and not _within(addr, DENIED_NETWORKS) for addr in candidates)


def _within(ip: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(ip.version == net.version and ip in net for net in networks)


def is_loopback_host(host: str) -> bool:
    """Whether a URL's host names this machine (`localhost` or a loopback address): the one
    place plain http is tolerated for our own endpoints."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def looks_numeric(host: str) -> bool:
    """True when the URL parser treats ``host`` as an IPv4 literal (its last label is a number)."""
    labels = host.rstrip(".").split(".")
    return bool(_NUMERIC_LABEL.match(labels[-1]))


def parse_ipv4_literal(host: str) -> ipaddress.IPv4Address | None:
    """Parse the legacy IPv4 spellings (``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1``).

    Returns None when ``host`` is not a valid number in any of them. Written here rather than
    calling ``socket.inet_aton`` because the C library's parser accepts trailing garbage on some
    platforms; this one is exact.
    """
    parts = host.rstrip(".").split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_parse_ipv4_part(part) for part in parts]
    if any(number is None for number in numbers):
        return None
    values = [number for number in numbers if number is not None]
    *leading, last = values
    if any(value > 255 for value in leading) or last >= 256 ** (5 - len(values)):
        return None
    total = last
    for position, value in enumerate(leading):
        total += value << (8 * (3 - position))
    return ipaddress.IPv4Address(total)


def _parse_ipv4_part(part: str) -> int | None:
    text = part.lower()
    if not _NUMERIC_LABEL.match(text):
        return None
    if text.startswith("0x"):
        return int(text[2:] or "0", 16)
    if len(text) > 1 and text.startswith("0"):
        return int(text, 8) if set(text) <= set("01234567") else None
    return int(text)
