"""A stand-in edge for worker unit tests: checks request signatures, signs its answers.

It runs in-process behind ``httpx.MockTransport``, so no socket is opened; it uses the real
``strongroom.crypto.signing`` functions, so the worker's signing and verification are tested
against the protocol, not against a mock of themselves.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from strongroom.crypto.signing import (
    generate_private_key,
    public_key_from_text,
    sign_response,
    verify_request,
)

EDGE = "https://edge.test"
Reply = tuple[int, Any] | httpx.Response
Route = Callable[[httpx.Request], Reply]


@dataclass
class FakeEdge:
    """Routes by (method, path). A route returns (status, json-or-None) or a raw Response."""

    edge_key: Ed25519PrivateKey = field(default_factory=generate_private_key)
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    worker_keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    seen_nonces: set[tuple[str, str]] = field(default_factory=set)
    requests: list[httpx.Request] = field(default_factory=list)
    sign_answers: bool = True

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def route(self, method: str, path: str, reply: Route | Reply) -> None:
        self.routes[(method, path)] = reply if callable(reply) else (lambda _r: reply)

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.requests.append(request)
        verified = verify_request(
            method=request.method,
            url=str(request.url),
            headers=request.headers,
            body=body,
            resolve_key=lambda key_id: self._key_for(key_id, body),
            remember_nonce=self._remember,
        )
        reply = self.routes[(request.method, request.url.path)](request)
        if isinstance(reply, httpx.Response):
            return reply
        status, data = reply
        payload = b"" if data is None else json.dumps(data).encode()
        headers = {"content-type": "application/json"} if data is not None else {}
        if self.sign_answers:
            headers.update(
                sign_response(
                    status=status, body=payload, request_nonce=verified.nonce, key=self.edge_key
                )
            )
        return httpx.Response(status, content=payload, headers=headers)

    def _key_for(self, key_id: str, body: bytes) -> Ed25519PublicKey | None:
        if key_id == "enroll":
            return public_key_from_text(json.loads(body)["public_key"])
        return self.worker_keys.get(key_id)

    def _remember(self, key_id: str, nonce: str, _until: int) -> bool:
        if (key_id, nonce) in self.seen_nonces:
            return False
        self.seen_nonces.add((key_id, nonce))
        return True


def grant_payload(lease: str = "lse_1", **changes: Any) -> dict[str, Any]:
    """A valid claim answer for ``EDGE``; ``changes`` override top-level fields."""
    base = f"{EDGE}/internal/worker/leases/{lease}"
    grant: dict[str, Any] = {
        "lease_id": lease,
        "task_token": "tok123",
        "attempt": 1,
        "lease_expires_at": "2026-11-25T10:00:00Z",
        "heartbeat_seconds": 10,
        "job": {
            "source": "tus:" + "0" * 32,
            "outputs": [{"index": 0, "kind": "mp4", "renditions": [{"width": 320, "height": 240}]}],
        },
        "source": {"url": f"{base}/source?grant=SRC", "size": 3, "sha256": "ab" * 32},
        "output_base_url": f"{base}/outputs?grant=OUT",
        "heartbeat_url": f"{base}/heartbeat?grant=HB",
        "complete_url": f"{base}/complete?grant=DONE",
        "fail_url": f"{base}/fail?grant=FAIL",
    }
    grant.update(changes)
    return grant
