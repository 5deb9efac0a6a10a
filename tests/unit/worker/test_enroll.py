"""Enrollment: one-time join token, identity reuse, clear failures."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from strongroom.crypto.signing import public_key_from_text, public_key_to_text
from strongroom.worker.enroll import EnrollmentFailed, ensure_identity
from strongroom.worker.identity import load_identity
from tests.unit.worker.fakeedge import EDGE, FakeEdge

TOKEN = "join_SECRET_token"


def enroll_answer(edge: FakeEdge, **changes: object) -> dict[str, object]:
    answer: dict[str, object] = {
        "worker_id": "wrk_new",
        "edge_public_key": public_key_to_text(edge.edge_key.public_key()),
        "lease_seconds": 60,
        "heartbeat_seconds": 10,
    }
    answer.update(changes)
    return answer


def run(edge: FakeEdge, state: Path, token: str | None = TOKEN):  # type: ignore[no-untyped-def]
    return ensure_identity(
        state_dir=state, edge_url=EDGE, join_token=token, ca_file=None, name="host-1",
        labels=("gpu",), transport=edge.transport,
    )


def test_it_enrolls_and_saves_the_identity(tmp_path: Path) -> None:
    edge = FakeEdge()
    edge.route("POST", "/internal/worker/enroll", (201, enroll_answer(edge)))
    identity = run(edge, tmp_path / "state")
    assert identity.worker_id == "wrk_new"
    sent = json.loads(edge.requests[0].content)
    assert sent["join_token"] == TOKEN
    assert sent["name"] == "host-1"
    assert sent["labels"] == ["gpu"]
    assert public_key_from_text(sent["public_key"]) is not None
    assert 'keyid="enroll"' in edge.requests[0].headers["signature-input"]
    saved = load_identity(tmp_path / "state", EDGE)
    assert saved is not None
    assert public_key_to_text(saved.private_key.public_key()) == sent["public_key"]


def test_an_enrolled_worker_reuses_its_identity_without_the_token(tmp_path: Path) -> None:
    edge = FakeEdge()
    edge.route("POST", "/internal/worker/enroll", (201, enroll_answer(edge)))
    first = run(edge, tmp_path / "state")
    again = run(FakeEdge(), tmp_path / "state", token=None)
    assert again.worker_id == first.worker_id
    assert len(edge.requests) == 1


def test_without_identity_or_token_it_explains_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(EnrollmentFailed, match="join token"):
        run(FakeEdge(), tmp_path / "state", token=None)


def test_a_refused_token_fails_clearly_without_echoing_it(tmp_path: Path) -> None:
    edge = FakeEdge()
    edge.route("POST", "/internal/worker/enroll", (401, {"error": "invalid_join_token"}))
    with pytest.raises(EnrollmentFailed, match="refused the join token") as caught:
        run(edge, tmp_path / "state")
    assert TOKEN not in str(caught.value)
    assert load_identity(tmp_path / "state", EDGE) is None


def test_an_unreachable_edge_fails_clearly(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(EnrollmentFailed, match="could not be reached"):
        ensure_identity(
            state_dir=tmp_path / "s", edge_url=EDGE, join_token=TOKEN, ca_file=None,
            name="h", labels=(), transport=httpx.MockTransport(refuse),
        )


@pytest.mark.parametrize(
    "changes",
    [
        {"worker_id": "../../x"},
        {"worker_id": None},
        {"heartbeat_seconds": 0},
        {"lease_seconds": "60"},
        {"heartbeat_seconds": True},
    ],
)
def test_a_malformed_enroll_answer_is_refused(tmp_path: Path, changes: dict[str, object]) -> None:
    edge = FakeEdge()
    edge.route("POST", "/internal/worker/enroll", (201, enroll_answer(edge, **changes)))
    with pytest.raises(EnrollmentFailed, match="malformed"):
        run(edge, tmp_path / "state")


def test_an_answer_signed_with_another_key_than_it_names_is_refused(tmp_path: Path) -> None:
    edge = FakeEdge()
    other = FakeEdge()
    edge.route("POST", "/internal/worker/enroll", (201, enroll_answer(other)))
    with pytest.raises(EnrollmentFailed, match="rejected"):
        run(edge, tmp_path / "state")
