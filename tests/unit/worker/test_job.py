"""process_job's outcomes when the edge stops a job, without running ffmpeg."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from strongroom.crypto.signing import generate_private_key
from strongroom.media.runner import Runner
from strongroom.outbound import FetchPolicy
from strongroom.worker.client import EdgeClient
from strongroom.worker.grant import parse_grant
from strongroom.worker.job import JobOutcome, JobResources, process_job
from strongroom.worker.scratch import SCRATCH_DIR
from tests.unit.worker.fakeedge import EDGE, FakeEdge, grant_payload

LEASE = "/internal/worker/leases/lse_1"
DATA = b"z" * 4096


class Slow(httpx.SyncByteStream):
    """A source that trickles in, so the heartbeat has time to act."""

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(200):
            time.sleep(0.02)
            yield DATA[:16]


@pytest.fixture
def edge() -> FakeEdge:
    return FakeEdge()


def resources(edge: FakeEdge, state: Path) -> JobResources:
    key = generate_private_key()
    edge.worker_keys["wrk"] = key.public_key()
    client = EdgeClient(EDGE, key=key, key_id="wrk", edge_public_key=edge.edge_key.public_key(),
                        transport=edge.transport)
    runner = Runner(Path("/nonexistent/ffmpeg"), sandbox="off")
    return JobResources(client, runner, state, FetchPolicy())


def grant(heartbeat_seconds: int = 10):  # type: ignore[no-untyped-def]
    source = {"url": f"{EDGE}{LEASE}/source?grant=s", "size": 3200,
              "sha256": hashlib.sha256(DATA[:16] * 200).hexdigest()}
    return parse_grant(grant_payload(source=source, heartbeat_seconds=heartbeat_seconds), EDGE)


def paths(edge: FakeEdge) -> list[str]:
    return [request.url.path for request in edge.requests]


def test_a_cancel_from_the_heartbeat_drops_the_job_quietly(
    edge: FakeEdge, tmp_path: Path
) -> None:
    edge.route("GET", f"{LEASE}/source", lambda _r: httpx.Response(200, stream=Slow()))
    edge.route("POST", f"{LEASE}/heartbeat", (200, {"cancel": True, "lease_expires_at": "x"}))
    outcome = process_job(grant(heartbeat_seconds=1), resources(edge, tmp_path))
    assert outcome is JobOutcome.CANCELLED
    assert f"{LEASE}/fail" not in paths(edge)
    assert list((tmp_path / SCRATCH_DIR).iterdir()) == []


def test_a_lost_lease_drops_the_job_without_reporting(edge: FakeEdge, tmp_path: Path) -> None:
    edge.route("GET", f"{LEASE}/source", (409, {"error": "lease_lost"}))
    outcome = process_job(grant(), resources(edge, tmp_path))
    assert outcome is JobOutcome.LEASE_LOST
    assert paths(edge) == [f"{LEASE}/source"]
    assert list((tmp_path / SCRATCH_DIR).iterdir()) == []


def test_a_revoked_key_is_reported_to_the_caller(edge: FakeEdge, tmp_path: Path) -> None:
    edge.route("GET", f"{LEASE}/source", (401, {"error": "unknown_key"}))
    assert process_job(grant(), resources(edge, tmp_path)) is JobOutcome.REVOKED


def test_a_bad_source_is_reported_as_a_retryable_failure(
    edge: FakeEdge, tmp_path: Path
) -> None:
    edge.route("GET", f"{LEASE}/source", lambda _r: httpx.Response(
        200, stream=httpx.ByteStream(b"x" * 3200)))
    failures: list[bytes] = []

    def fail(request: httpx.Request) -> tuple[int, object]:
        failures.append(request.content)
        return 200, {}

    edge.route("POST", f"{LEASE}/fail", fail)
    assert process_job(grant(), resources(edge, tmp_path)) is JobOutcome.FAILED
    assert failures == [b'{"reason":"the source did not match its checksum","retryable":true}']


def test_an_invalid_job_spec_fails_permanently_before_any_download(
    edge: FakeEdge, tmp_path: Path
) -> None:
    bad = parse_grant(grant_payload(job={"source": "file:///etc/passwd", "outputs": []}), EDGE)
    edge.route("POST", f"{LEASE}/fail", (200, {}))
    assert process_job(bad, resources(edge, tmp_path)) is JobOutcome.FAILED
    assert paths(edge) == [f"{LEASE}/fail"]
    assert b'"retryable":false' in edge.requests[0].content


def test_the_heartbeat_thread_is_gone_after_the_job(edge: FakeEdge, tmp_path: Path) -> None:
    edge.route("GET", f"{LEASE}/source", (409, {"error": "lease_lost"}))
    process_job(grant(heartbeat_seconds=1), resources(edge, tmp_path))
    assert not [t for t in threading.enumerate() if t.name == "heartbeat"]
