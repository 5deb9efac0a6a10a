"""Edge source downloads: resume with Range, size and checksum checks, cancellation."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from strongroom.crypto.signing import generate_private_key
from strongroom.media.errors import Cancelled
from strongroom.worker.client import EdgeClient
from strongroom.worker.failures import JobFailed
from strongroom.worker.grant import SourceGrant
from strongroom.worker.source import download_edge_source
from tests.unit.worker.fakeedge import EDGE, FakeEdge

DATA = bytes(range(256)) * 40
URL = f"{EDGE}/internal/worker/leases/lse_1/source?grant=g"
PATH = "/internal/worker/leases/lse_1/source"


class Dropping(httpx.SyncByteStream):
    """Sends ``data`` then drops the connection."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        yield self.data
        raise httpx.ReadError("connection dropped")


def streamed(status: int, data: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    """A streamed answer, as a real connection gives (content= would arrive pre-read)."""
    return httpx.Response(status, stream=httpx.ByteStream(data), headers=headers)


def source(data: bytes = DATA) -> SourceGrant:
    return SourceGrant(url=URL, size=len(data), sha256=hashlib.sha256(data).hexdigest())


def client_for(edge: FakeEdge) -> EdgeClient:
    key = generate_private_key()
    edge.worker_keys["wrk"] = key.public_key()
    return EdgeClient(EDGE, key=key, key_id="wrk", edge_public_key=edge.edge_key.public_key(),
                      transport=edge.transport)


def range_start(request: httpx.Request) -> int:
    header = request.headers.get("range", "bytes=0-")
    return int(header.removeprefix("bytes=").split("-")[0])


def download(edge: FakeEdge, dest: Path, grant: SourceGrant | None = None,
             cancel: threading.Event | None = None) -> list[int]:
    progress: list[int] = []
    download_edge_source(client_for(edge), grant or source(), dest,
                         on_bytes=progress.append, cancel=cancel or threading.Event())
    return progress


def test_it_downloads_and_checks_the_source(tmp_path: Path) -> None:
    edge = FakeEdge()
    edge.route("GET", PATH, lambda _r: streamed(200, DATA))
    progress = download(edge, tmp_path / "source")
    assert (tmp_path / "source").read_bytes() == DATA
    assert (tmp_path / "source").stat().st_mode & 0o777 == 0o600
    assert progress[-1] == len(DATA)


def test_it_resumes_with_range_after_a_dropped_connection(tmp_path: Path) -> None:
    edge = FakeEdge()
    cut = 1000

    def serve(request: httpx.Request) -> httpx.Response:
        start = range_start(request)
        if start == 0:
            return httpx.Response(200, stream=Dropping(DATA[:cut]))
        headers = {"content-range": f"bytes {start}-{len(DATA) - 1}/{len(DATA)}"}
        return streamed(206, DATA[start:], headers=headers)

    edge.route("GET", PATH, serve)
    download(edge, tmp_path / "source")
    assert (tmp_path / "source").read_bytes() == DATA
    assert [r.headers.get("range") for r in edge.requests] == [None, f"bytes={cut}-"]


def test_it_restarts_when_the_server_ignores_range(tmp_path: Path) -> None:
    edge = FakeEdge()
    calls = iter([httpx.Response(200, stream=Dropping(DATA[:500])),
                  streamed(200, DATA)])
    edge.route("GET", PATH, lambda _r: next(calls))
    download(edge, tmp_path / "source")
    assert (tmp_path / "source").read_bytes() == DATA


def test_it_refuses_a_resume_that_starts_elsewhere(tmp_path: Path) -> None:
    edge = FakeEdge()
    calls = iter([
        httpx.Response(200, stream=Dropping(DATA[:500])),
        streamed(206, DATA, headers={"content-range": f"bytes 0-{len(DATA) - 1}/*"}),
    ])
    edge.route("GET", PATH, lambda _r: next(calls))
    with pytest.raises(JobFailed, match="resumed"):
        download(edge, tmp_path / "source")


def test_it_gives_up_after_repeated_drops(tmp_path: Path) -> None:
    edge = FakeEdge()
    edge.route("GET", PATH, lambda _r: httpx.Response(200, stream=Dropping(b"")))
    with pytest.raises(JobFailed, match="could not be downloaded"):
        download(edge, tmp_path / "source")
    assert len(edge.requests) == 6


def test_a_checksum_mismatch_fails_and_removes_the_file(tmp_path: Path) -> None:
    edge = FakeEdge()
    tampered = bytearray(DATA)
    tampered[7] ^= 1
    edge.route("GET", PATH, lambda _r: streamed(200, bytes(tampered)))
    with pytest.raises(JobFailed, match="checksum") as caught:
        download(edge, tmp_path / "source")
    assert caught.value.retryable
    assert not (tmp_path / "source").exists()


def test_a_short_source_fails(tmp_path: Path) -> None:
    edge = FakeEdge()
    edge.route("GET", PATH, lambda _r: streamed(200, DATA[:-1]))
    with pytest.raises(JobFailed, match="checksum"):
        download(edge, tmp_path / "source")


def test_a_source_larger_than_announced_is_cut_off(tmp_path: Path) -> None:
    edge = FakeEdge()
    edge.route("GET", PATH, lambda _r: streamed(200, DATA + b"extra"))
    with pytest.raises(JobFailed, match="larger"):
        download(edge, tmp_path / "source")


def test_an_empty_source_is_fetched_once(tmp_path: Path) -> None:
    edge = FakeEdge()
    edge.route("GET", PATH, lambda _r: streamed(200, b""))
    download(edge, tmp_path / "source", source(b""))
    assert (tmp_path / "source").read_bytes() == b""


def test_a_cancel_stops_the_download(tmp_path: Path) -> None:
    edge = FakeEdge()
    edge.route("GET", PATH, lambda _r: streamed(200, DATA))
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        download(edge, tmp_path / "source", cancel=cancel)


def test_an_edge_error_status_is_not_retried_as_a_drop(tmp_path: Path) -> None:
    edge = FakeEdge()
    edge.route("GET", PATH, (409, {"error": "lease_lost"}))
    from strongroom.worker.client import LeaseLost

    with pytest.raises(LeaseLost):
        download(edge, tmp_path / "source")


def test_an_edge_outage_while_downloading_is_reported_as_unavailable(tmp_path: Path) -> None:
    from strongroom.worker.client import EdgeUnavailable

    edge = FakeEdge()
    edge.route("GET", PATH, lambda _r: streamed(503, b""))
    with pytest.raises(EdgeUnavailable):
        download(edge, tmp_path / "source")
