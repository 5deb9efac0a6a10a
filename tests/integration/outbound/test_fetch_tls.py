"""Pinned HTTPS: connect to the checked IP while TLS still verifies the URL's host name."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from strongroom.crypto.tls import ensure_local_ca, ensure_server_certificate, server_ssl_context
from strongroom.outbound import FetchFailed, FetchPolicy, IPAddress, fetch_to_file

BODY = b"tls-served-bytes"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *_args: object) -> None:
        return

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    folder = tmp_path_factory.mktemp("pki")
    ca = ensure_local_ca(folder)
    leaf = ensure_server_certificate(ca, folder, hostnames=["media.test"], ips=[])
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = server_ssl_context(leaf).wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], ca.cert
    server.shutdown()
    server.server_close()


def loopback(host: str, port: int) -> list[IPAddress]:
    if host in {"media.test", "other.test"}:
        return [ipaddress.ip_address("127.0.0.1")]
    raise socket.gaierror("unknown")


def policy(port: int, ca: Path) -> FetchPolicy:
    return FetchPolicy(allow_networks=("127.0.0.0/8",), allowed_ports=(port,), ca_file=str(ca))


def test_it_fetches_over_pinned_tls_with_the_right_name(
    tls_server: tuple[int, Path], tmp_path: Path
) -> None:
    port, ca = tls_server
    result = fetch_to_file(
        f"https://media.test:{port}/x", tmp_path / "f", policy(port, ca), resolver=loopback
    )
    assert result.size == len(BODY)


def test_it_refuses_a_certificate_for_another_name(
    tls_server: tuple[int, Path], tmp_path: Path
) -> None:
    port, ca = tls_server
    with pytest.raises(FetchFailed):
        fetch_to_file(
            f"https://other.test:{port}/x", tmp_path / "f", policy(port, ca), resolver=loopback
        )


def test_it_refuses_an_untrusted_certificate(
    tls_server: tuple[int, Path], tmp_path: Path
) -> None:
    port, _ca = tls_server
    untrusted = FetchPolicy(allow_networks=("127.0.0.0/8",), allowed_ports=(port,))
    with pytest.raises(FetchFailed):
        fetch_to_file(f"https://media.test:{port}/x", tmp_path / "f", untrusted, resolver=loopback)
