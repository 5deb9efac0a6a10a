"""Sources given as URLs: the worker fetches them itself through the SSRF-safe fetcher."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from strongroom.cli.presets import preset_formats
from strongroom.cli.qencode_client import QencodeClient
from strongroom.media.runner import Runner, find_ffmpeg
from strongroom.media.samples import make_sample_clip
from tests.e2e.conftest import RunningServer
from tests.e2e.test_worker_recovery import start_worker

LOCAL_WORKERS = 0
SERVER_SETTINGS = {"STRONGROOM_HEARTBEAT_SECONDS": "1", "STRONGROOM_RETRY_BACKOFF_SECONDS": "0"}


class QuietHandler(SimpleHTTPRequestHandler):
    requests_seen: list[str] = []

    def log_message(self, *_: object) -> None:  # counts requests instead of printing them
        QuietHandler.requests_seen.append(self.path)


@pytest.fixture(scope="module")
def media_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("www")
    make_sample_clip(
        Runner(find_ffmpeg()), folder / "clip.mp4", seconds=2.0, width=640, height=360, fps=25
    )
    httpd = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def running(process: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


@pytest.fixture
def default_worker(server: RunningServer, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    yield from running(start_worker(server, tmp_path / "worker"))


@pytest.fixture
def allowlisted_worker(
    server: RunningServer, media_server: str, tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    port = media_server.rsplit(":", 1)[1]
    yield from running(
        start_worker(
            server, tmp_path / "allowed", "--allow-network", "127.0.0.0/8", "--allow-port", port
        )
    )


def run_job(server: RunningServer, source: str) -> dict[str, object]:
    client = QencodeClient(server.url, server.ca)
    try:
        token = client.access_token(server.cli("apikey", "create", "--project", "urls"))
        task_token, _ = client.create_task(token)
        status_url = client.start_encode2(
            task_token, {"source": source, "format": preset_formats("mp4")}
        )
        return client.wait(status_url, task_token, lambda _: None, poll=0.5, timeout=120)
    finally:
        client.close()


@pytest.mark.usefixtures("allowlisted_worker")
def test_an_allowlisted_internal_source_is_fetched_and_transcoded(
    server: RunningServer, media_server: str
) -> None:
    final = run_job(server, f"{media_server}/clip.mp4")
    assert final["status"] == "completed", final
    assert "/clip.mp4" in QuietHandler.requests_seen


@pytest.mark.usefixtures("default_worker")
def test_a_loopback_source_is_refused_by_default_with_a_clear_reason(
    server: RunningServer, media_server: str
) -> None:
    before = len(QuietHandler.requests_seen)
    final = run_job(server, f"{media_server}/clip.mp4")
    assert final["status"] == "error" and final["error"] == 1
    description = str(final["error_description"])
    assert "source URL could not be fetched" in description
    assert "/tmp" not in description and "Traceback" not in description
    assert len(QuietHandler.requests_seen) == before  # refused before any connection
