"""run_worker's lifecycle against the stand-in edge (no job runs ffmpeg here)."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import httpx
import pytest

from strongroom.crypto.signing import public_key_from_text, public_key_to_text
from strongroom.media.jobspec import ENCODER_LABELS
from strongroom.worker.identity import load_identity
from strongroom.worker.main import ExitCode, WorkerConfig, run_worker, worker_labels
from tests.unit.worker.fakeedge import EDGE, FakeEdge, grant_payload

CLAIM = "/internal/worker/claim"
ENROLL = "/internal/worker/enroll"


JOIN_TOKEN = "jt-SECRET-4711"


def config(state: Path, token: str | None = JOIN_TOKEN) -> WorkerConfig:
    return WorkerConfig(edge_url=EDGE, state_dir=state, join_token=token, sandbox="off",
                        claim_wait=1)


def enrolling_edge() -> FakeEdge:
    edge = FakeEdge()

    def enroll(request: httpx.Request) -> tuple[int, object]:
        edge.worker_keys["wrk_1"] = public_key_from_text(json.loads(request.content)["public_key"])
        return 201, {"worker_id": "wrk_1", "lease_seconds": 60, "heartbeat_seconds": 10,
                     "edge_public_key": public_key_to_text(edge.edge_key.public_key())}

    edge.route("POST", ENROLL, enroll)
    return edge


def stop_after_claim(edge: FakeEdge, stop: threading.Event, reply: tuple[int, object]) -> None:
    def claim(_request: httpx.Request) -> tuple[int, object]:
        stop.set()
        return reply

    edge.route("POST", CLAIM, claim)


def test_it_enrolls_claims_and_exits_cleanly_when_stopped(tmp_path: Path) -> None:
    edge, stop = enrolling_edge(), threading.Event()
    stop_after_claim(edge, stop, (204, None))
    assert run_worker(config(tmp_path), stop, transport=edge.transport) == ExitCode.OK
    assert [r.url.path for r in edge.requests] == [ENROLL, CLAIM]
    assert load_identity(tmp_path, EDGE) is not None
    claim_request = edge.requests[1]
    assert claim_request.content == b'{"wait":1}'
    assert 'keyid="wrk_1"' in claim_request.headers["signature-input"]


def test_a_restart_reuses_the_identity(tmp_path: Path) -> None:
    edge, stop = enrolling_edge(), threading.Event()
    stop_after_claim(edge, stop, (204, None))
    run_worker(config(tmp_path), stop, transport=edge.transport)
    stop.clear()
    assert run_worker(config(tmp_path, token=None), stop, transport=edge.transport) == 0
    assert [r.url.path for r in edge.requests] == [ENROLL, CLAIM, CLAIM]


def test_it_exits_2_when_not_enrolled_and_no_token(tmp_path: Path) -> None:
    assert run_worker(config(tmp_path, token=None), transport=FakeEdge().transport) == 2


def test_it_exits_2_when_the_edge_refuses_the_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    edge = FakeEdge()
    edge.route("POST", ENROLL, (401, {"error": "invalid_join_token"}))
    assert run_worker(config(tmp_path), transport=edge.transport) == ExitCode.SETUP_FAILED
    assert "refused the join token" in caplog.text
    assert JOIN_TOKEN not in caplog.text


def test_it_exits_2_for_a_plain_http_edge(tmp_path: Path) -> None:
    bad = WorkerConfig(edge_url="http://edge.test", state_dir=tmp_path, join_token="t",
                       sandbox="off")
    assert run_worker(bad, transport=FakeEdge().transport) == ExitCode.SETUP_FAILED


def test_it_exits_3_when_the_key_is_revoked(tmp_path: Path) -> None:
    edge = enrolling_edge()
    edge.route("POST", CLAIM, (401, {"error": "unknown_key"}))
    assert run_worker(config(tmp_path), transport=edge.transport) == ExitCode.REVOKED


def test_an_invalid_grant_is_skipped_and_claiming_goes_on(tmp_path: Path) -> None:
    edge, stop = enrolling_edge(), threading.Event()
    stop_after_claim(edge, stop, (200, grant_payload(fail_url="https://evil.test/f")))
    assert run_worker(config(tmp_path), stop, transport=edge.transport) == ExitCode.OK


def test_sigterm_stops_claiming_and_exits_0(tmp_path: Path) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can only be installed from the main thread")
    edge = enrolling_edge()

    def claim(_request: httpx.Request) -> tuple[int, object]:
        os.kill(os.getpid(), signal.SIGTERM)
        return 204, None

    edge.route("POST", CLAIM, claim)
    before = signal.getsignal(signal.SIGTERM)
    assert run_worker(config(tmp_path), transport=edge.transport) == ExitCode.OK
    assert [r.url.path for r in edge.requests].count(CLAIM) == 1
    assert signal.getsignal(signal.SIGTERM) == before


def test_stale_scratch_is_swept_at_start(tmp_path: Path) -> None:
    stale = tmp_path / "scratch" / "job-dead"
    stale.mkdir(parents=True)
    (stale / "source").write_bytes(b"decrypted media")
    edge, stop = enrolling_edge(), threading.Event()
    stop_after_claim(edge, stop, (204, None))
    run_worker(config(tmp_path), stop, transport=edge.transport)
    assert not stale.exists()


def test_the_config_repr_hides_the_join_token(tmp_path: Path) -> None:
    assert JOIN_TOKEN not in repr(config(tmp_path))


def slots_config(state: Path, slots: int) -> WorkerConfig:
    return WorkerConfig(edge_url=EDGE, state_dir=state, join_token=JOIN_TOKEN, sandbox="off",
                        claim_wait=1, slots=slots)


def test_each_slot_claims_on_its_own_at_the_same_time(tmp_path: Path) -> None:
    edge, stop = enrolling_edge(), threading.Event()
    together = threading.Barrier(3, timeout=10)  # passes only if three claims are in flight

    def claim(_request: httpx.Request) -> tuple[int, object]:
        together.wait()
        stop.set()
        return 204, None

    edge.route("POST", CLAIM, claim)
    assert run_worker(slots_config(tmp_path, 3), stop, transport=edge.transport) == ExitCode.OK
    assert [r.url.path for r in edge.requests].count(CLAIM) == 3
    assert not together.broken


def test_a_revoked_key_in_one_slot_ends_them_all(tmp_path: Path) -> None:
    edge = enrolling_edge()
    edge.route("POST", CLAIM, lambda _request: (401, {"error": "revoked"}))
    assert run_worker(slots_config(tmp_path, 2), transport=edge.transport) == ExitCode.REVOKED


def test_the_pinned_ffmpeg_build_brings_its_encoder_labels(tmp_path: Path) -> None:
    pinned = WorkerConfig(edge_url=EDGE, state_dir=tmp_path, labels=("gpu",))
    assert set(worker_labels(pinned)) == {"gpu", *ENCODER_LABELS.values()}
    own = WorkerConfig(edge_url=EDGE, state_dir=tmp_path, labels=("gpu",), ffmpeg="/opt/ffmpeg")
    assert worker_labels(own) == ("gpu",)
