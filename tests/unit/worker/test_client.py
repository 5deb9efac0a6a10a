"""EdgeClient against the stand-in edge: signing, answer verification, errors, retries."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest

from strongroom.crypto.signing import (
    SignatureError,
    generate_private_key,
    public_key_to_text,
    sign_response,
)
from strongroom.worker.client import (
    AuthRefused,
    EdgeClient,
    EdgeRejected,
    EdgeUnavailable,
    LeaseLost,
    RetryPolicy,
    check_edge_url,
)
from tests.unit.worker.fakeedge import EDGE, FakeEdge

WORKER_ID = "wrk_test"


@pytest.fixture
def edge() -> FakeEdge:
    return FakeEdge()


def make_client(
    edge: FakeEdge, *, attempts: int = 3, sleeps: list[float] | None = None
) -> EdgeClient:
    key = generate_private_key()
    edge.worker_keys[WORKER_ID] = key.public_key()
    return EdgeClient(
        EDGE,
        key=key,
        key_id=WORKER_ID,
        edge_public_key=edge.edge_key.public_key(),
        retry=RetryPolicy(attempts=attempts, first_delay=0.01),
        sleep=(sleeps.append if sleeps is not None else lambda _s: None),
        transport=edge.transport,
    )


def test_a_signed_request_gets_a_verified_answer(edge: FakeEdge) -> None:
    edge.route("POST", "/internal/worker/claim", (200, {"hello": "world"}))
    reply = make_client(edge).post_json(f"{EDGE}/internal/worker/claim", {"wait": 1})
    assert reply.status == 200
    assert reply.data == {"hello": "world"}
    sent = edge.requests[-1]
    assert json.loads(sent.content) == {"wait": 1}
    assert sent.headers["content-type"] == "application/json"


def test_an_empty_204_means_no_work(edge: FakeEdge) -> None:
    edge.sign_answers = False
    edge.route("POST", "/c", (204, None))
    reply = make_client(edge).post_json(f"{EDGE}/c", {}, expected=frozenset({200, 204}))
    assert reply == type(reply)(204, None)


def test_it_refuses_an_unsigned_answer(edge: FakeEdge) -> None:
    edge.sign_answers = False
    edge.route("POST", "/c", (200, {"cancel": True}))
    with pytest.raises(EdgeRejected, match="signature"):
        make_client(edge).post_json(f"{EDGE}/c", {})


def test_it_refuses_an_answer_signed_by_another_key(edge: FakeEdge) -> None:
    client = make_client(edge)
    edge.edge_key = generate_private_key()
    edge.route("POST", "/c", (200, {"cancel": False}))
    with pytest.raises(EdgeRejected, match="signature"):
        client.post_json(f"{EDGE}/c", {})


def test_it_refuses_an_answer_replayed_from_another_request(edge: FakeEdge) -> None:
    body = b'{"cancel": false}'
    headers = sign_response(
        status=200, body=body, request_nonce="A" * 22, key=edge.edge_key
    )
    edge.route("POST", "/c", lambda _r: httpx.Response(200, content=body, headers=headers))
    with pytest.raises(EdgeRejected):
        make_client(edge).post_json(f"{EDGE}/c", {})


def test_it_refuses_an_answer_whose_body_was_altered(edge: FakeEdge) -> None:
    def tampered(request: httpx.Request) -> httpx.Response:
        nonce = _nonce_of(request)
        headers = sign_response(status=200, body=b'{"cancel":false}', request_nonce=nonce,
                                key=edge.edge_key)
        return httpx.Response(200, content=b'{"cancel":true}', headers=headers)

    edge.route("POST", "/c", tampered)
    with pytest.raises(EdgeRejected):
        make_client(edge).post_json(f"{EDGE}/c", {})


def _nonce_of(request: httpx.Request) -> str:
    text = request.headers["signature-input"]
    return text.split('nonce="', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthRefused), (409, LeaseLost), (413, EdgeRejected), (422, EdgeRejected)],
)
def test_error_statuses_become_typed_errors(
    edge: FakeEdge, status: int, error: type[Exception]
) -> None:
    edge.route("POST", "/c", (status, {"error": "some_code", "detail": "x"}))
    with pytest.raises(error):
        make_client(edge).post_json(f"{EDGE}/c", {})


def test_a_rejection_keeps_the_status_and_code(edge: FakeEdge) -> None:
    edge.route("POST", "/c", (413, {"error": "too_large"}))
    with pytest.raises(EdgeRejected) as caught:
        make_client(edge).post_json(f"{EDGE}/c", {})
    assert (caught.value.status, caught.value.code) == (413, "too_large")


def test_it_retries_5xx_with_backoff_then_succeeds(edge: FakeEdge) -> None:
    answers = iter([(503, None), (502, None), (200, {"ok": True})])
    edge.route("POST", "/c", lambda _r: next(answers))
    sleeps: list[float] = []
    reply = make_client(edge, sleeps=sleeps).post_json(f"{EDGE}/c", {})
    assert reply.data == {"ok": True}
    assert len(sleeps) == 2
    assert sleeps[1] > sleeps[0]
    nonces = {_nonce_of(r) for r in edge.requests}
    assert len(nonces) == 3  # every retry is signed afresh


def test_it_gives_up_after_the_retry_budget(edge: FakeEdge) -> None:
    edge.route("POST", "/c", (500, None))
    with pytest.raises(EdgeUnavailable, match="HTTP 500"):
        make_client(edge, attempts=2).post_json(f"{EDGE}/c", {})
    assert len(edge.requests) == 2


def test_connection_errors_are_retried_then_reported(edge: FakeEdge) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = EdgeClient(
        EDGE, key=generate_private_key(), key_id=WORKER_ID, edge_public_key=None,
        retry=RetryPolicy(attempts=3), sleep=lambda _s: None,
        transport=httpx.MockTransport(refuse),
    )
    with pytest.raises(EdgeUnavailable, match="ConnectError"):
        client.post_json(f"{EDGE}/c", {})


def test_put_file_streams_with_length_and_digest(edge: FakeEdge, tmp_path: Path) -> None:
    data = b"segment-bytes" * 1000
    path = tmp_path / "segment.ts"
    path.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    edge.route("PUT", "/o/0/video_0/segment.ts",
               (201, {"path": "video_0/segment.ts", "size": len(data), "sha256": sha}))
    reply = make_client(edge).put_file(
        f"{EDGE}/o/0/video_0/segment.ts?grant=g", path, size=len(data), sha256_hex=sha
    )
    assert reply.status == 201
    sent = edge.requests[-1]
    assert sent.headers["content-length"] == str(len(data))
    assert sent.content == data  # the fake edge verified the digest against this body


def test_put_file_with_a_wrong_digest_is_refused_by_the_edge(
    edge: FakeEdge, tmp_path: Path
) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    edge.route("PUT", "/o/0/f", (201, {}))
    with pytest.raises(SignatureError, match="digest"):
        make_client(edge).put_file(f"{EDGE}/o/0/f", path, size=3, sha256_hex="00" * 32)


def test_enrollment_answers_are_checked_against_the_key_they_carry(edge: FakeEdge) -> None:
    key = generate_private_key()
    edge.route("POST", "/e", (201, {"edge_public_key": public_key_to_text(
        edge.edge_key.public_key())}))
    client = EdgeClient(EDGE, key=key, key_id="enroll", edge_public_key=None,
                        transport=edge.transport)
    body_key = {"public_key": public_key_to_text(key.public_key())}
    assert client.post_json(f"{EDGE}/e", body_key, expected=frozenset({201})).status == 201
    edge.route("POST", "/e", (201, {"edge_public_key": public_key_to_text(
        generate_private_key().public_key())}))
    with pytest.raises(EdgeRejected):
        client.post_json(f"{EDGE}/e", body_key, expected=frozenset({201}))


@pytest.mark.parametrize(
    "url", ["http://edge.example", "ftp://edge.test", "https://", "edge.test"]
)
def test_it_refuses_an_edge_url_without_tls(url: str) -> None:
    with pytest.raises(ValueError, match="https"):
        check_edge_url(url)


@pytest.mark.parametrize("url", ["https://edge.test/", "http://127.0.0.1:8000", "http://[::1]/"])
def test_it_accepts_https_or_loopback_http(url: str) -> None:
    assert not check_edge_url(url).endswith("/")
