"""Fetch a URL to a file, or post a form, connecting only to addresses that passed the checks.

The connection is pinned: the request goes to the checked IP address while the ``Host`` header
and TLS SNI (and certificate verification) use the name from the URL, so a DNS answer that
changes between the check and the connection (rebinding) cannot redirect the request. Redirects
are followed by hand so every hop is checked again.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import ssl
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import certifi
import httpx

from strongroom import __version__
from strongroom.crypto.tls import client_ssl_context
from strongroom.outbound.destination import (
    Destination,
    Resolver,
    resolve_destination,
    system_resolver,
)
from strongroom.outbound.errors import BlockedDestination, FetchFailed
from strongroom.outbound.policy import FetchPolicy

logger = logging.getLogger(__name__)

USER_AGENT = f"strongroom/{__version__}"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class FetchResult:
    """What was written: byte count, lowercase hex SHA-256, and the declared content type."""

    size: int
    sha256: str
    content_type: str | None


def fetch_to_file(
    url: str, dest: Path, policy: FetchPolicy, *, resolver: Resolver = system_resolver
) -> FetchResult:
    """GET ``url`` into ``dest`` (created 0600, replaced if present) under ``policy``.

    Follows up to ``policy.max_redirects`` redirects, checking each hop and refusing an
    https->http downgrade. Raises BlockedDestination or FetchFailed; on any failure ``dest`` is
    removed so no partial file is left behind.
    """
    deadline = time.monotonic() + policy.total_timeout
    try:
        with ExitStack() as stack:
            response = _follow_redirects(url, policy, deadline, resolver, stack)
            _expect_success(response, policy)
            return _stream_to_file(response, dest, policy, deadline)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


def post_form(
    url: str,
    data: Mapping[str, str] | bytes,
    headers: Mapping[str, str],
    policy: FetchPolicy,
    *,
    resolver: Resolver = system_resolver,
) -> int:
    """POST ``data`` form-encoded to ``url`` and return the HTTP status.

    ``data`` may also be the already-encoded body (bytes), for a sender that signs exactly
    the bytes it sends. Redirects are not followed (a 3xx is returned as is): a callback
    receiver must answer at the URL it registered. Raises BlockedDestination or FetchFailed
    when no status was obtained.
    """
    deadline = time.monotonic() + policy.total_timeout
    destination = resolve_destination(url, policy, resolver=resolver)
    with _pinned_send(destination, "POST", policy, deadline, headers=headers, data=data) as resp:
        return resp.status_code


@dataclass(frozen=True)
class Reply:
    """A whole (small) answer: status, headers and body."""

    status: int
    headers: dict[str, str]
    content: bytes


def send_bytes(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    policy: FetchPolicy,
    *,
    resolver: Resolver = system_resolver,
) -> Reply:
    """Send one request with ``body`` through the pinned connection and read the whole answer
    (at most ``policy.max_bytes``). For API calls such as S3's, whose answers are small; no
    redirects are followed. Raises BlockedDestination or FetchFailed."""
    deadline = time.monotonic() + policy.total_timeout
    destination = resolve_destination(url, policy, resolver=resolver)
    with _pinned_send(destination, method, policy, deadline, headers=headers, data=body) as resp:
        content = bytearray()
        try:
            for chunk in resp.iter_raw():
                content += chunk
                if len(content) > policy.max_bytes:
                    raise FetchFailed("the answer from the URL is larger than allowed")
        except httpx.HTTPError:
            raise FetchFailed("the answer from the URL was interrupted") from None
        return Reply(resp.status_code, dict(resp.headers.items()), bytes(content))


def _follow_redirects(
    url: str, policy: FetchPolicy, deadline: float, resolver: Resolver, stack: ExitStack
) -> httpx.Response:
    current: str | httpx.URL = url
    for _hop in range(policy.max_redirects + 1):
        destination = resolve_destination(current, policy, resolver=resolver)
        hop_stack = stack.enter_context(ExitStack())
        response = hop_stack.enter_context(_pinned_send(destination, "GET", policy, deadline))
        if response.status_code not in REDIRECT_STATUSES:
            return response
        current = _next_hop(destination.url, response)
        hop_stack.close()
    raise FetchFailed("the URL redirected too many times")


def _next_hop(current: httpx.URL, response: httpx.Response) -> httpx.URL:
    location = response.headers.get("location")
    if not location:
        raise FetchFailed("the URL redirected without a location")
    try:
        target = current.join(location)
    except (httpx.InvalidURL, ValueError):
        raise BlockedDestination("the URL redirected to a malformed location") from None
    if current.scheme == "https" and target.scheme != "https":
        raise BlockedDestination("the URL redirected from https to an insecure location")
    return target


@contextmanager
def _pinned_send(
    destination: Destination,
    method: str,
    policy: FetchPolicy,
    deadline: float,
    *,
    headers: Mapping[str, str] | None = None,
    data: Mapping[str, str] | bytes | None = None,
) -> Iterator[httpx.Response]:
    """Send to each checked address in turn until one accepts the connection."""
    for address in destination.addresses:
        # One client per connection: httpx pools by (scheme, IP, port), and a pooled connection
        # opened with another name's SNI must never be reused for this host.
        with _client(policy, deadline) as client:
            request = client.build_request(
                method,
                destination.url.copy_with(host=str(address)),
                headers=_request_headers(destination, headers),
                data=None if isinstance(data, bytes) else data,
                content=data if isinstance(data, bytes) else None,
                extensions=_tls_extensions(destination),
            )
            try:
                response = client.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                logger.info("outbound: could not connect to %s", destination.host)
                continue
            except httpx.HTTPError:
                raise FetchFailed("the request to the URL failed") from None
            try:
                yield response
            finally:
                response.close()
            return
    raise FetchFailed("could not connect to the URL's host")


def _client(policy: FetchPolicy, deadline: float) -> httpx.Client:
    remaining = _remaining(deadline)
    timeout = httpx.Timeout(
        connect=min(policy.connect_timeout, remaining),
        read=min(policy.idle_timeout, remaining),
        write=min(policy.idle_timeout, remaining),
        pool=min(policy.connect_timeout, remaining),
    )
    # trust_env=False: a proxy from the environment would connect by name, undoing the pinning.
    return httpx.Client(
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        verify=_ssl_context(policy.ca_file),
    )


@functools.lru_cache(maxsize=8)
def _ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """The project's client TLS policy, trusting ``ca_file`` or the certifi bundle httpx uses.

    Cached because loading a CA bundle costs milliseconds and contexts are safe to share.
    """
    return client_ssl_context(Path(ca_file or certifi.where()))


def _request_headers(destination: Destination, extra: Mapping[str, str] | None) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    headers.update(extra or {})
    headers["Host"] = destination.host_header
    return headers


def _tls_extensions(destination: Destination) -> dict[str, str]:
    if destination.url.scheme != "https" or destination.is_ip_literal:
        return {}
    return {"sni_hostname": destination.host.rstrip(".")}


def _expect_success(response: httpx.Response, policy: FetchPolicy) -> None:
    if response.status_code != 200:
        raise FetchFailed(f"the URL answered HTTP {response.status_code}")
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > policy.max_bytes:
        raise FetchFailed("the file at the URL is larger than allowed")


def _stream_to_file(
    response: httpx.Response, dest: Path, policy: FetchPolicy, deadline: float
) -> FetchResult:
    digest = hashlib.sha256()
    size = 0
    with _open_private(dest) as sink:
        try:
            for chunk in response.iter_raw():
                size += len(chunk)
                if size > policy.max_bytes:
                    raise FetchFailed("the file at the URL is larger than allowed")
                _remaining(deadline)
                digest.update(chunk)
                sink.write(chunk)
        except httpx.HTTPError:
            raise FetchFailed("the transfer from the URL was interrupted") from None
    return FetchResult(size, digest.hexdigest(), response.headers.get("content-type"))


def _open_private(path: Path) -> BinaryIO:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    return os.fdopen(fd, "wb")


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchFailed("the transfer from the URL took too long")
    return remaining
