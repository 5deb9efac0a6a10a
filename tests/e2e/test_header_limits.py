"""Header size and count limits on the live edge: a request whose head is over 16 KiB, or that
carries thousands of headers, is refused before any handler runs; the edge stays up."""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import RunningServer


def send_raw(server: RunningServer, head: bytes) -> bytes:
    context = ssl.create_default_context(cafile=str(server.ca))
    parts = urlsplit(server.url)
    with (
        socket.create_connection((parts.hostname, parts.port), timeout=15) as raw,
        context.wrap_socket(raw, server_hostname=parts.hostname) as tls,
    ):
        tls.sendall(head)
        answer = b""
        try:
            while chunk := tls.recv(65536):
                answer += chunk
        except (ConnectionResetError, ssl.SSLError):
            pass
    return answer


def request(extra_headers: bytes) -> bytes:
    return (
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + extra_headers
        + b"Connection: close\r\n\r\n"
    )


@pytest.mark.parametrize(
    "extra",
    [
        b"X-Big: " + b"a" * 20_000 + b"\r\n",  # one huge header
        b"".join(b"X-H%d: v\r\n" % n for n in range(3000)),  # thousands of small ones
    ],
    ids=["one-20-KiB-header", "3000-headers"],
)
def test_oversized_heads_are_refused_and_the_edge_survives(server: RunningServer, extra: bytes):
    answer = send_raw(server, request(extra))
    # 431 from the edge, or 400 from the HTTP server when the head came in pieces.
    assert answer.startswith((b"HTTP/1.1 431", b"HTTP/1.1 400")), answer[:200]
    assert send_raw(server, request(b"X-Small: ok\r\n")).startswith(b"HTTP/1.1 200")


def test_many_headers_below_the_byte_limit_are_refused_too(server: RunningServer):
    answer = send_raw(server, request(b"".join(b"X-%d: v\r\n" % n for n in range(150))))
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
