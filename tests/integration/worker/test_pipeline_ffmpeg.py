"""The worker pipeline with real ffmpeg: local sources, a loopback URL, and a stand-in edge."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from strongroom.crypto.signing import generate_private_key
from strongroom.media.runner import Runner, find_ffmpeg
from strongroom.media.samples import make_sample_clip
from strongroom.outbound import FetchPolicy
from strongroom.worker.client import EdgeClient
from strongroom.worker.grant import Grant, parse_grant
from strongroom.worker.heartbeat import Progress
from strongroom.worker.job import JobOutcome, JobResources, process_job
from strongroom.worker.pipeline import JobContext, run_pipeline
from strongroom.worker.scratch import SCRATCH_DIR, job_directory
from tests.unit.worker.fakeedge import EDGE, FakeEdge, grant_payload

LEASE = "/internal/worker/leases/lse_1"
MP4_JOB = {
    "source": "tus:" + "0" * 32,
    "outputs": [{"index": 0, "kind": "mp4", "renditions": [{"width": 320, "height": 240}]}],
}
HLS_JOB = {
    "source": "tus:" + "0" * 32,
    "outputs": [
        {"index": 0, "kind": "mp4", "renditions": [{"width": 256, "height": 144}]},
        {
            "index": 1,
            "kind": "advanced_hls",
            "segment_duration": 1,
            "renditions": [{"width": 320, "height": 240}, {"width": 160, "height": 120}],
        },
    ],
}


@pytest.fixture(scope="module")
def runner() -> Runner:
    return Runner(find_ffmpeg(None), sandbox="auto")


@pytest.fixture(scope="module")
def clip(runner: Runner, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clip")
    return make_sample_clip(runner, folder / "clip.mp4", seconds=2, width=320, height=240, fps=15)


@pytest.fixture(scope="module")
def http_port(clip: Path) -> Iterator[int]:
    handler = partial(_QuietHandler, directory=str(clip.parent))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *_args: object) -> None:
        return


class RecordingEdge(FakeEdge):
    """Serves the source, stores uploads, records complete/fail bodies."""

    def __init__(self, source: bytes) -> None:
        super().__init__()
        self.uploads: dict[str, bytes] = {}
        self.completed: list[dict[str, Any]] = []
        self.failed: list[dict[str, Any]] = []
        self.route("GET", f"{LEASE}/source",
                   lambda _r: httpx.Response(200, stream=httpx.ByteStream(source)))
        self.route("POST", f"{LEASE}/heartbeat", (200, {"cancel": False}))
        self.route("POST", f"{LEASE}/complete", self._complete)
        self.route("POST", f"{LEASE}/fail", self._fail)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            self.route("PUT", request.url.path, self._upload)
        return super().handle(request)

    def _upload(self, request: httpx.Request) -> tuple[int, object]:
        assert request.url.params["grant"] == "OUT"
        relative = request.url.path.removeprefix(f"{LEASE}/outputs/")
        self.uploads[relative] = request.content
        digest = hashlib.sha256(request.content).hexdigest()
        return 201, {"path": relative, "size": len(request.content), "sha256": digest}

    def _complete(self, request: httpx.Request) -> tuple[int, object]:
        self.completed.append(json.loads(request.content))
        return 200, {}

    def _fail(self, request: httpx.Request) -> tuple[int, object]:
        self.failed.append(json.loads(request.content))
        return 200, {}


def edge_grant(data: bytes, job: dict[str, Any]) -> Grant:
    source = {"url": f"{EDGE}{LEASE}/source?grant=SRC", "size": len(data),
              "sha256": hashlib.sha256(data).hexdigest()}
    return parse_grant(grant_payload(source=source, job=job), EDGE)


def resources(edge: FakeEdge, runner: Runner, state: Path) -> JobResources:
    key = generate_private_key()
    edge.worker_keys["wrk"] = key.public_key()
    client = EdgeClient(EDGE, key=key, key_id="wrk", edge_public_key=edge.edge_key.public_key(),
                        transport=edge.transport)
    return JobResources(client, runner, state, FetchPolicy())


def test_a_full_job_uploads_every_file_and_completes(
    runner: Runner, clip: Path, tmp_path: Path
) -> None:
    data = clip.read_bytes()
    edge = RecordingEdge(data)
    outcome = process_job(edge_grant(data, HLS_JOB), resources(edge, runner, tmp_path))
    assert outcome is JobOutcome.COMPLETED, edge.failed
    [done] = edge.completed
    reported = {
        f"{output['index']}/{item['path']}": item
        for output in done["outputs"] for item in output["files"]
    }
    assert set(reported) == set(edge.uploads)
    for path, item in reported.items():
        assert hashlib.sha256(edge.uploads[path]).hexdigest() == item["sha256"]
    assert "0/video.mp4" in edge.uploads
    assert any(p.startswith("1/video_") and p.endswith(".ts") for p in edge.uploads)
    assert "1/playlist.m3u8" in edge.uploads
    assert done["outputs"][0]["main_file"] == "video.mp4"
    assert list((tmp_path / SCRATCH_DIR).iterdir()) == []


def test_a_source_that_is_not_media_fails_permanently(runner: Runner, tmp_path: Path) -> None:
    data = b"this is not a video" * 100
    edge = RecordingEdge(data)
    outcome = process_job(edge_grant(data, MP4_JOB), resources(edge, runner, tmp_path))
    assert outcome is JobOutcome.FAILED
    [failure] = edge.failed
    assert failure["retryable"] is False
    assert str(tmp_path) not in failure["reason"]
    assert "/" not in failure["reason"]
    assert edge.uploads == {}


def test_an_external_source_goes_through_the_ssrf_safe_fetcher(
    runner: Runner, clip: Path, http_port: int, tmp_path: Path
) -> None:
    external = {"url": f"http://127.0.0.1:{http_port}/{clip.name}", "size": None,
                "sha256": None, "external": True}
    grant = parse_grant(grant_payload(source=external, job=MP4_JOB), EDGE)
    edge = RecordingEdge(b"")
    allowed = FetchPolicy(allow_networks=("127.0.0.0/8",), allowed_ports=(http_port,))
    with job_directory(tmp_path) as job_dir:
        ctx = JobContext(
            grant=grant, job_dir=job_dir, client=resources(edge, runner, tmp_path).client,
            runner=runner, fetch_policy=allowed, progress=Progress(), cancel=threading.Event(),
        )
        [report] = run_pipeline(ctx)
    assert report.files[0].path == "video.mp4"
    assert report.width == 320
    assert set(edge.uploads) == {"0/video.mp4"}


def test_an_external_loopback_source_is_blocked_by_default(
    runner: Runner, clip: Path, http_port: int, tmp_path: Path
) -> None:
    external = {"url": f"http://127.0.0.1:{http_port}/{clip.name}", "size": None,
                "sha256": None, "external": True}
    grant = parse_grant(grant_payload(source=external, job=MP4_JOB), EDGE)
    edge = RecordingEdge(b"")
    outcome = process_job(grant, resources(edge, runner, tmp_path))
    assert outcome is JobOutcome.FAILED
    assert edge.failed[0]["retryable"] is False
    assert "port" in edge.failed[0]["reason"] or "routable" in edge.failed[0]["reason"]
