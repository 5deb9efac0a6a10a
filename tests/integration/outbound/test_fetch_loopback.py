"""The fetcher against a real HTTP server on the loopback interface."""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from strongroom.outbound import (
    BlockedDestination,
    FetchFailed,
    FetchPolicy,
    IPAddress,
    fetch_to_file,
    post_form,
)

BODY = b"strongroom" * 1000
BIG = 300_000


class Handler(BaseHTTPRequestHandler):
    """Routes: /file, /big, /chunked, /redirect/<target>, /loop, /missing, /stall, /hook."""

    seen: list[dict[str, str]] = []

    def log_message(self, *_args: object) -> None:  # quiet test output
        return

    def do_GET(self) -> None:
        Handler.seen.append({"path": self.path, "host": self.headers.get("host", "")})
        port = self.server.server_address[1]
        if self.path == "/file":
            self._send(200, BODY, {"Content-Type": "video/mp4"})
        elif self.path == "/big":
            self._send(200, b"x" * BIG)
        elif self.path == "/chunked":
            self._send_chunked(b"y" * BIG)
        elif self.path.startswith("/redirect/"):
            target = self.path.removeprefix("/redirect/").replace("PORT", str(port))
            self._send(302, b"", {"Location": target})
        elif self.path == "/loop":
            self._send(302, b"", {"Location": "/loop"})
        elif self.path == "/stall":
            self.send_response(200)
            self.send_header("Content-Length", "10")
            self.end_headers()
            time.sleep(2)
        else:
            self._send(404, b"nope")

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        form = parse_qs(self.rfile.read(length).decode())
        Handler.seen.append({"path": self.path, "form": repr(form), "sig": self.headers["x-sig"]})
        self._send(302 if self.path == "/moved" else 204, b"")

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_chunked(self, body: bytes) -> None:
        self.protocol_version = "HTTP/1.1"
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for start in range(0, len(body), 8192):
            piece = body[start : start + 8192]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def policy(port: int) -> FetchPolicy:
    return FetchPolicy(allow_networks=("127.0.0.0/8",), allowed_ports=(port,))


def loopback_dns(host: str, port: int) -> list[IPAddress]:
    if host == "media.test":
        return [ipaddress.ip_address("127.0.0.1")]
    raise socket.gaierror("unknown")


def test_it_blocks_the_loopback_server_by_default(port: int, tmp_path: Path) -> None:
    with pytest.raises(BlockedDestination):
        fetch_to_file(f"http://127.0.0.1:{port}/file", tmp_path / "f", FetchPolicy())
    relaxed_ports = FetchPolicy(allowed_ports=(port,))
    with pytest.raises(BlockedDestination):
        fetch_to_file(f"http://127.0.0.1:{port}/file", tmp_path / "f", relaxed_ports)


def test_it_fetches_when_the_operator_allows_the_range(
    port: int, policy: FetchPolicy, tmp_path: Path
) -> None:
    dest = tmp_path / "source"
    result = fetch_to_file(f"http://127.0.0.1:{port}/file", dest, policy)
    assert result.size == len(BODY)
    assert result.sha256 == hashlib.sha256(BODY).hexdigest()
    assert result.content_type == "video/mp4"
    assert dest.read_bytes() == BODY
    assert dest.stat().st_mode & 0o777 == 0o600


def test_it_connects_to_the_checked_address_and_keeps_the_host_name(
    port: int, policy: FetchPolicy, tmp_path: Path
) -> None:
    fetch_to_file(f"http://media.test:{port}/file", tmp_path / "f", policy, resolver=loopback_dns)
    assert Handler.seen[-1]["host"] == f"media.test:{port}"


def test_it_follows_an_allowed_redirect(port: int, policy: FetchPolicy, tmp_path: Path) -> None:
    result = fetch_to_file(f"http://127.0.0.1:{port}/redirect//file", tmp_path / "f", policy)
    assert result.size == len(BODY)


@pytest.mark.parametrize(
    "target",
    ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1:PORT/file", "file:///etc/passwd"],
)
def test_it_refuses_a_redirect_to_a_blocked_address(
    port: int, policy: FetchPolicy, tmp_path: Path, target: str
) -> None:
    dest = tmp_path / "f"
    with pytest.raises(BlockedDestination):
        fetch_to_file(f"http://127.0.0.1:{port}/redirect/{target}", dest, policy)
    assert not dest.exists()


def test_it_stops_after_too_many_redirects(
    port: int, policy: FetchPolicy, tmp_path: Path
) -> None:
    with pytest.raises(FetchFailed, match="too many"):
        fetch_to_file(f"http://127.0.0.1:{port}/loop", tmp_path / "f", policy)


@pytest.mark.parametrize("path", ["/big", "/chunked"])
def test_the_byte_cap_stops_a_large_body(
    port: int, policy: FetchPolicy, tmp_path: Path, path: str
) -> None:
    capped = FetchPolicy(
        allow_networks=policy.allow_networks, allowed_ports=policy.allowed_ports, max_bytes=BIG - 1
    )
    dest = tmp_path / "f"
    with pytest.raises(FetchFailed, match="larger than allowed"):
        fetch_to_file(f"http://127.0.0.1:{port}{path}", dest, capped)
    assert not dest.exists()


def test_a_chunked_body_under_the_cap_is_fetched(
    port: int, policy: FetchPolicy, tmp_path: Path
) -> None:
    assert fetch_to_file(f"http://127.0.0.1:{port}/chunked", tmp_path / "f", policy).size == BIG


def test_an_error_status_fails_the_fetch(port: int, policy: FetchPolicy, tmp_path: Path) -> None:
    with pytest.raises(FetchFailed, match="HTTP 404"):
        fetch_to_file(f"http://127.0.0.1:{port}/missing", tmp_path / "f", policy)


def test_a_stalled_server_hits_the_idle_timeout(port: int, tmp_path: Path) -> None:
    impatient = FetchPolicy(
        allow_networks=("127.0.0.0/8",), allowed_ports=(port,), idle_timeout=0.3
    )
    started = time.monotonic()
    with pytest.raises(FetchFailed):
        fetch_to_file(f"http://127.0.0.1:{port}/stall", tmp_path / "f", impatient)
    assert time.monotonic() - started < 1.5


def test_a_refused_connection_fails_the_fetch(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    closed = FetchPolicy(allow_networks=("127.0.0.0/8",), allowed_ports=(free_port,))
    with pytest.raises(FetchFailed, match="could not connect"):
        fetch_to_file(f"http://127.0.0.1:{free_port}/", tmp_path / "f", closed)


def test_post_form_delivers_the_form_and_returns_the_status(
    port: int, policy: FetchPolicy
) -> None:
    status = post_form(
        f"http://127.0.0.1:{port}/hook", {"task_token": "t1"}, {"x-sig": "v1,abc"}, policy
    )
    assert status == 204
    assert Handler.seen[-1]["form"] == repr({"task_token": ["t1"]})
    assert Handler.seen[-1]["sig"] == "v1,abc"


def test_post_form_does_not_follow_redirects(port: int, policy: FetchPolicy) -> None:
    assert post_form(f"http://127.0.0.1:{port}/moved", {}, {"x-sig": "s"}, policy) == 302
    assert Handler.seen[-1]["path"] == "/moved"


def test_post_form_is_blocked_by_default(port: int) -> None:
    with pytest.raises(BlockedDestination):
        post_form(f"http://127.0.0.1:{port}/hook", {}, {}, FetchPolicy(allowed_ports=(port,)))
