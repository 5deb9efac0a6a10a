"""The signed worker protocol (docs/worker-protocol.md) through the whole ASGI app: refused
requests answer 401/403/409/422 and lease, store or complete nothing."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from strongroom.crypto.signing import (
    SignatureError,
    content_digest,
    generate_private_key,
    sign_request,
)
from strongroom.edge.jobs.models import JoinToken, StoredFile, Task, Worker, WorkItem
from strongroom.edge.jobs.services.workers import create_join_token
from strongroom.edge.jobs.states import TaskStatus, WorkItemStatus
from strongroom.edge.workergate.auth import edge_public_key_text
from tests.integration.edge.db_state import snapshot, stored_keys
from tests.integration.edge.edge_client import EdgeClient
from tests.integration.edge.qencode_api import HLS_FORMAT, MP4_FORMAT, QencodeApi, query_text
from tests.integration.edge.signed_worker import (
    CLAIM_URL,
    Sent,
    SignedWorker,
    check_signed_answer,
    enroll,
    output_report,
    output_url,
    request_enrollment,
    send_signed,
    sign,
    with_grant_of,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CLAIM_BODY = json.dumps({"wait": 0}).encode()


def refusal_code(sent: Sent, status: int = 401) -> str:
    assert sent.status == status, sent.response.text
    return str(sent.json()["error"])


@pytest.fixture
def grant(worker: SignedWorker, start_task: Callable[..., Task]) -> dict[str, Any]:
    start_task(query_text(formats=[MP4_FORMAT, HLS_FORMAT]))
    return worker.claim_grant()


def item() -> WorkItem:
    return WorkItem.objects.select_related("task").get()


# ------------------------------------------------------------------------ enrollment


def test_it_enrolls_a_worker_with_a_join_token(edge: EdgeClient) -> None:
    token = create_join_token(labels=("gpu",))

    worker = enroll(edge, token)  # asserts 201 and the answer's signature

    row = Worker.objects.get(worker_id=worker.worker_id)
    assert row.worker_id.startswith("wrk_") and row.revoked_at is None
    assert sorted(row.labels) == ["cpu", "gpu"]
    assert JoinToken.objects.get().used_at is not None
    sent = request_enrollment(edge, generate_private_key(), create_join_token())
    assert sent.json()["edge_public_key"] == edge_public_key_text()
    assert sent.json()["lease_seconds"] > sent.json()["heartbeat_seconds"] > 0


@pytest.mark.parametrize("problem", ["used", "unknown", "expired"])
def test_it_refuses_enrollment_with_a_bad_join_token(edge: EdgeClient, problem: str) -> None:
    token = create_join_token()
    if problem == "used":
        enroll(edge, token)
    elif problem == "unknown":
        token = "srj_" + "x" * 32
    else:
        JoinToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    before = snapshot()

    sent = request_enrollment(edge, generate_private_key(), token)

    assert refusal_code(sent) == "enrollment_refused"
    assert snapshot() == before


def test_it_keeps_the_join_token_when_the_enrollment_is_not_signed_by_the_new_key(
    edge: EdgeClient,
) -> None:
    token = create_join_token()
    key = generate_private_key()
    before = snapshot()

    sent = request_enrollment(edge, key, token, signing_key=generate_private_key())

    assert refusal_code(sent) == "enrollment_refused"
    assert snapshot() == before
    assert request_enrollment(edge, key, token).status == 201


# ------------------------------------------------------------------------ claim


def test_it_answers_204_when_there_is_no_work(worker: SignedWorker) -> None:
    sent = worker.claim(wait=0)

    assert sent.status == 204
    assert sent.response.content == b""
    check_signed_answer(sent, worker.edge_key)


def flipped_body(worker: SignedWorker) -> Sent:
    signed = worker.sign("POST", CLAIM_URL, CLAIM_BODY)
    return send_signed(worker.edge, "POST", CLAIM_URL, CLAIM_BODY.replace(b"0", b"1"), signed)


def changed_path(worker: SignedWorker) -> Sent:
    signed = worker.sign("POST", CLAIM_URL + "-other", CLAIM_BODY)
    return send_signed(worker.edge, "POST", CLAIM_URL, CLAIM_BODY, signed)


def stale_created(worker: SignedWorker) -> Sent:
    return worker.send("POST", CLAIM_URL, CLAIM_BODY, now=time.time() - 120)


def future_created(worker: SignedWorker) -> Sent:
    return worker.send("POST", CLAIM_URL, CLAIM_BODY, now=time.time() + 60)


def unknown_key_id(worker: SignedWorker) -> Sent:
    signed = sign(generate_private_key(), "wrk_" + "0" * 24, "POST", CLAIM_URL, CLAIM_BODY)
    return send_signed(worker.edge, "POST", CLAIM_URL, CLAIM_BODY, signed)


def someone_elses_key(worker: SignedWorker) -> Sent:
    signed = sign(generate_private_key(), worker.worker_id, "POST", CLAIM_URL, CLAIM_BODY)
    return send_signed(worker.edge, "POST", CLAIM_URL, CLAIM_BODY, signed)


def revoked_worker(worker: SignedWorker) -> Sent:
    Worker.objects.filter(worker_id=worker.worker_id).update(revoked_at=timezone.now())
    return worker.send("POST", CLAIM_URL, CLAIM_BODY)


def unsigned(worker: SignedWorker) -> Sent:
    response = worker.edge.request("POST", CLAIM_URL, content=CLAIM_BODY)
    return Sent(response, "")


BAD_CLAIMS: dict[str, tuple[Callable[[SignedWorker], Sent], str]] = {
    "flipped_body_byte": (flipped_body, "digest_mismatch"),
    "changed_path": (changed_path, "bad_signature"),
    "stale_created": (stale_created, "expired"),
    "created_in_the_future": (future_created, "not_yet_valid"),
    "unknown_key_id": (unknown_key_id, "unknown_key"),
    "someone_elses_key": (someone_elses_key, "bad_signature"),
    "revoked_worker": (revoked_worker, "unknown_key"),
    "unsigned": (unsigned, "missing_signature"),
}


@pytest.mark.parametrize("case", BAD_CLAIMS)
def test_it_refuses_a_badly_signed_claim_and_leases_nothing(
    worker: SignedWorker, start_task: Callable[..., Task], case: str
) -> None:
    start_task()
    before = snapshot()
    send, code = BAD_CLAIMS[case]

    sent = send(worker)

    assert refusal_code(sent) == code
    assert snapshot() == before
    assert item().status == WorkItemStatus.QUEUED


def test_it_refuses_a_replayed_nonce(worker: SignedWorker, start_task: Callable[..., Task]) -> None:
    signed = worker.sign("POST", CLAIM_URL, CLAIM_BODY)
    assert send_signed(worker.edge, "POST", CLAIM_URL, CLAIM_BODY, signed).status == 204
    start_task()
    before = snapshot()

    sent = send_signed(worker.edge, "POST", CLAIM_URL, CLAIM_BODY, signed)

    assert refusal_code(sent) == "replayed"
    assert snapshot() == before


def test_it_does_not_burn_a_nonce_on_a_refused_request(worker: SignedWorker) -> None:
    signed = worker.sign("POST", CLAIM_URL, CLAIM_BODY)
    tampered = send_signed(worker.edge, "POST", CLAIM_URL, CLAIM_BODY + b" ", signed)
    assert refusal_code(tampered) == "digest_mismatch"

    sent = send_signed(worker.edge, "POST", CLAIM_URL, CLAIM_BODY, signed)

    assert sent.status == 204


def test_it_grants_a_claim_after_start_encode2(
    edge_v1: QencodeApi, api_key: str, worker: SignedWorker, other_worker: SignedWorker
) -> None:
    token = edge_v1.new_task(api_key)
    edge_v1.start(token, query_text(formats=[MP4_FORMAT, HLS_FORMAT]))

    sent = worker.claim()

    assert sent.status == 200
    check_signed_answer(sent, worker.edge_key)
    with pytest.raises(SignatureError):
        check_signed_answer(Sent(sent.response, "another-request-nonce"), worker.edge_key)
    grant = sent.json()
    lease = item()
    assert (grant["task_token"], grant["lease_id"], grant["attempt"]) == (token, lease.lease_id, 1)
    assert lease.worker is not None and lease.worker.worker_id == worker.worker_id
    assert [o["kind"] for o in grant["job"]["outputs"]] == ["mp4", "advanced_hls"]
    assert grant["source"]["external"] is True
    for name in ("output_base_url", "heartbeat_url", "complete_url", "fail_url"):
        assert grant[name].startswith(
            f"https://testserver/internal/worker/leases/{lease.lease_id}/"
        )
        assert "?grant=" in grant[name]
    assert lease.task.status == TaskStatus.DOWNLOADING
    assert edge_v1.status(token)[token]["status"] == "downloading"
    assert other_worker.claim().status == 204  # one task, one lease


def test_it_refuses_a_non_numeric_claim_wait(worker: SignedWorker) -> None:
    sent = worker.post_json(CLAIM_URL, {"wait": "soon"})

    assert sent.status == 400


def test_it_answers_a_nan_claim_wait_promptly(worker: SignedWorker) -> None:
    body = b'{"wait": NaN}'

    sent = send_signed(
        worker.edge, "POST", CLAIM_URL, body, worker.sign("POST", CLAIM_URL, body), timeout=2.0
    )

    assert sent.status in {204, 400}


# ------------------------------------------------------------------------ lease calls


def test_it_extends_the_lease_on_a_heartbeat(worker: SignedWorker, grant: dict[str, Any]) -> None:
    WorkItem.objects.update(lease_expires_at=timezone.now() + timedelta(seconds=1))

    sent = worker.post_json(grant["heartbeat_url"], {"stage": "encoding", "percent": 40})

    assert sent.status == 200
    check_signed_answer(sent, worker.edge_key)
    assert sent.json()["cancel"] is False
    assert item().lease_expires_at > timezone.now() + timedelta(seconds=3)
    assert (item().task.status, item().task.percent) == (TaskStatus.ENCODING, 40.0)


@pytest.mark.parametrize("borrowed", ["complete_url", "fail_url", "output_base_url"])
def test_it_refuses_a_grant_for_another_purpose(
    worker: SignedWorker, grant: dict[str, Any], borrowed: str
) -> None:
    before = snapshot()

    sent = worker.post_json(
        with_grant_of(grant["heartbeat_url"], grant[borrowed]), {"stage": "encoding"}
    )

    assert refusal_code(sent, 403) == "grant_refused"
    assert snapshot() == before


def test_it_refuses_a_grant_of_another_lease(
    worker: SignedWorker, grant: dict[str, Any], start_task: Callable[..., Task]
) -> None:
    start_task()
    second = worker.claim_grant()
    before = snapshot()

    sent = worker.post_json(
        with_grant_of(grant["heartbeat_url"], second["heartbeat_url"]), {"stage": "encoding"}
    )

    assert refusal_code(sent, 403) == "grant_refused"
    assert snapshot() == before


def test_it_answers_409_to_a_heartbeat_after_the_lease_moved_on(
    worker: SignedWorker, other_worker: SignedWorker, grant: dict[str, Any]
) -> None:
    WorkItem.objects.update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    newer = other_worker.claim_grant()
    before = snapshot()

    sent = worker.post_json(grant["heartbeat_url"], {"stage": "encoding", "percent": 99})

    assert sent.status == 409
    check_signed_answer(sent, worker.edge_key)
    assert sent.json()["error"] == "lease_lost"
    assert snapshot() == before
    assert (newer["attempt"], item().lease_id) == (2, newer["lease_id"])


def test_it_refuses_to_complete_with_a_file_never_uploaded(
    worker: SignedWorker, grant: dict[str, Any]
) -> None:
    reports = [
        output_report(0, "mp4", {"video.mp4": b"never sent"}, "video.mp4"),
        output_report(1, "advanced_hls", {"playlist.m3u8": b"#EXTM3U"}, "playlist.m3u8"),
    ]
    before = snapshot()

    sent = worker.post_json(grant["complete_url"], {"outputs": reports})

    assert sent.status == 422
    check_signed_answer(sent, worker.edge_key)
    assert sent.json()["error"] == "output_mismatch"
    assert snapshot() == before
    assert item().task.status != TaskStatus.COMPLETED


def test_it_refuses_a_report_that_differs_from_the_upload(
    worker: SignedWorker, grant: dict[str, Any]
) -> None:
    assert worker.put_output(grant, 0, "video.mp4", b"real bytes").status == 201
    reports = [
        output_report(0, "mp4", {"video.mp4": b"other bytes"}, "video.mp4"),
        output_report(1, "advanced_hls", {"playlist.m3u8": b"#EXTM3U"}, "playlist.m3u8"),
    ]

    sent = worker.post_json(grant["complete_url"], {"outputs": reports})

    assert sent.status == 422
    assert item().status == WorkItemStatus.LEASED


def test_it_refuses_a_malformed_completion_report(
    worker: SignedWorker, grant: dict[str, Any]
) -> None:
    sent = worker.post_json(grant["complete_url"], {"outputs": [0, 1]})

    assert sent.status == 400


def test_it_refuses_an_output_reported_twice(worker: SignedWorker, grant: dict[str, Any]) -> None:
    files = {"video.mp4": b"mp4", "playlist.m3u8": b"#EXTM3U"}
    for index, (path, data) in enumerate(files.items()):
        assert worker.put_output(grant, index, path, data).status == 201
    mp4 = output_report(0, "mp4", {"video.mp4": files["video.mp4"]}, "video.mp4")
    hls = output_report(
        1, "advanced_hls", {"playlist.m3u8": files["playlist.m3u8"]}, "playlist.m3u8"
    )

    sent = worker.post_json(grant["complete_url"], {"outputs": [mp4, hls, mp4]})

    assert sent.status == 422


def test_it_does_not_take_a_nan_percent_for_progress(
    worker: SignedWorker, grant: dict[str, Any]
) -> None:
    body = b'{"stage": "encoding", "percent": NaN}'
    url = grant["heartbeat_url"]

    send_signed(worker.edge, "POST", url, body, worker.sign("POST", url, body))

    assert item().task.percent < 100.0


def test_it_refuses_an_output_whose_body_differs_from_its_digest(
    worker: SignedWorker, grant: dict[str, Any]
) -> None:
    url = output_url(grant, 0, "video.mp4")
    body = b"the real output bytes"
    signed = sign_request(
        method="PUT",
        url=url,
        body=None,
        key=worker.key,
        key_id=worker.worker_id,
        content_digest_value=content_digest(b"what the worker claimed"),
    )
    before = snapshot()

    sent = send_signed(worker.edge, "PUT", url, body, signed)

    assert sent.status == 400
    assert sent.json()["error"] == "digest_mismatch"
    assert snapshot() == before
    assert StoredFile.objects.count() == 0
    assert stored_keys(f"tasks/{grant['task_token']}") == []


def test_it_refuses_an_output_put_into_another_workers_lease(
    worker: SignedWorker, other_worker: SignedWorker, grant: dict[str, Any]
) -> None:
    before = snapshot()

    sent = other_worker.put_output(grant, 0, "video.mp4", b"intruder")

    assert sent.status == 409
    assert snapshot() == before
    assert stored_keys(f"tasks/{grant['task_token']}") == []


@pytest.mark.parametrize(
    ("index", "path", "status"),
    [(7, "video.mp4", 404), (0, "bad name.mp4", 400), (0, "a/%2e%2e/b.mp4", 400)],
)
def test_it_refuses_an_output_it_cannot_place(
    worker: SignedWorker, grant: dict[str, Any], index: int, path: str, status: int
) -> None:
    sent = worker.put_output(grant, index, path, b"bytes")

    assert sent.status == status
    assert StoredFile.objects.count() == 0


def test_it_stores_an_output_and_answers_with_its_hash(
    worker: SignedWorker, grant: dict[str, Any]
) -> None:
    data = b"segment bytes" * 100

    sent = worker.put_output(grant, 1, "video_1/chunk0.ts", data)

    assert sent.status == 201
    check_signed_answer(sent, worker.edge_key)
    digest = hashlib.sha256(data).hexdigest()
    assert sent.json() == {"path": "video_1/chunk0.ts", "size": len(data), "sha256": digest}
    stored = StoredFile.objects.get()
    assert (stored.output_index, stored.size, stored.sha256) == (1, len(data), digest)


def test_it_fails_a_task_the_worker_gives_up_on(
    worker: SignedWorker, grant: dict[str, Any], edge_v1: QencodeApi
) -> None:
    reason = "The source has no video stream."

    sent = worker.post_json(grant["fail_url"], {"reason": reason, "retryable": False})

    assert sent.status == 200
    entry = edge_v1.status(grant["task_token"])[grant["task_token"]]
    assert (entry["status"], entry["error"], entry["error_description"]) == ("error", 1, reason)
    assert worker.post_json(grant["heartbeat_url"], {"stage": "encoding"}).status == 409


def test_a_refused_request_is_audited_once_a_minute_not_once_a_packet(worker: SignedWorker) -> None:
    from strongroom.edge.audit.models import AuditEvent

    for _ in range(3):
        assert refusal_code(flipped_body(worker)) == "digest_mismatch"

    events = AuditEvent.objects.filter(action="worker.request_refused")
    assert events.count() == 1
    event = events.get()
    assert event.actor == f"claimed:{worker.worker_id}"
    assert event.target == "/internal/worker/claim"
    assert event.details == {"reason": "digest_mismatch"}


def test_a_worker_flooding_heartbeats_is_refused_without_changing_its_lease(
    worker: SignedWorker, grant: dict[str, Any], settings: Any
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "heartbeat": "3/987 seconds"}
    beats = [
        worker.post_json(grant["heartbeat_url"], {"stage": "encoding", "percent": 10 + i})
        for i in range(4)
    ]
    assert [b.status for b in beats] == [200, 200, 200, 429]
    assert Task.objects.get().percent == 12  # the refused beat wrote nothing
