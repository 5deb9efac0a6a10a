"""Verifying signed worker requests (RFC 9421) and signing the edge's answers."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from functools import lru_cache
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.http import HttpResponse

from strongroom.crypto.signing import (
    SignatureError,
    VerifiedRequest,
    private_key_from_seed,
    public_key_to_text,
    sign_response,
    verify_request,
)
from strongroom.edge.audit.models import ActorKind
from strongroom.edge.audit.requestlog import set_actor
from strongroom.edge.audit.services import record_refusal_once_a_minute
from strongroom.edge.jobs.models import Worker
from strongroom.edge.jobs.services.workers import (
    active_worker,
    remember_nonce,
    touch,
    worker_public_key,
)

logger = logging.getLogger(__name__)


class WorkerRefused(Exception):
    """A worker request failed authentication; `code` is the stable reason."""

    def __init__(self, code: str, detail: str, status: int = 401) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status  # 401 for authentication; 400/413 for a body that can't be read


@lru_cache(maxsize=1)
def edge_private_key() -> Ed25519PrivateKey:
    return private_key_from_seed(settings.EDGE_SIGNING_SEED)


def edge_public_key_text() -> str:
    return public_key_to_text(edge_private_key().public_key())


def authenticate_worker(
    method: str, url: str, headers: Mapping[str, str], body: bytes | None
) -> tuple[Worker, VerifiedRequest]:
    """The enrolled, unrevoked worker that signed this request, or WorkerRefused."""
    verified = verify_signed(method, url, headers, body, worker_public_key)
    worker = active_worker(verified.key_id)
    if worker is None:  # revoked between key lookup and now
        raise WorkerRefused("unknown_key", "unknown or revoked worker key")
    touch(worker)
    set_actor(ActorKind.WORKER, worker.worker_id)  # names the worker in the request log
    return worker, verified


def verify_signed(
    method: str, url: str, headers: Mapping[str, str], body: bytes | None, resolve_key: object
) -> VerifiedRequest:
    try:
        return verify_request(
            method=method,
            url=url,
            headers=headers,
            body=body,
            resolve_key=resolve_key,  # type: ignore[arg-type]
            remember_nonce=remember_nonce,
        )
    except SignatureError as exc:
        logger.warning(
            "worker request refused: %s %s (%s)", method, url.split("?", maxsplit=1)[0], exc.code
        )
        record_refusal_once_a_minute(
            action="worker.request_refused",
            actor=_claimed_key(headers),
            target=urlsplit(url).path[:200],
            reason=exc.code,
        )
        raise WorkerRefused(exc.code, str(exc)) from None


def _claimed_key(headers: Mapping[str, str]) -> str:
    """The keyid a refused request claimed (unverified: for the audit trail only)."""
    found = re.search(r'keyid="([A-Za-z0-9_:.-]{1,40})"', headers.get("signature-input", ""))
    return f"claimed:{found.group(1)}" if found else "unsigned"


def resolve_only(key: Ed25519PublicKey) -> object:
    """A key resolver that knows exactly one key (enrollment proves possession of the new key)."""
    return lambda key_id: key if key_id == "enroll" else None


def signed_json(status: int, data: object | None, request_nonce: str) -> HttpResponse:
    body = b"" if data is None else json.dumps(data, separators=(",", ":")).encode()
    response = HttpResponse(body, status=status, content_type="application/json")
    for name, value in signed_headers(status, body, request_nonce).items():
        response[name] = value
    return response


def signed_headers(status: int, body: bytes, request_nonce: str) -> dict[str, str]:
    return sign_response(
        status=status, body=body, request_nonce=request_nonce, key=edge_private_key()
    )


def refusal(code: str, detail: str, status: int = 401) -> HttpResponse:
    body = json.dumps({"error": code, "detail": detail}).encode()
    return HttpResponse(body, status=status, content_type="application/json")
