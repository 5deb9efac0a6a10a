"""The signed JSON endpoints workers call (docs/worker-protocol.md)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from strongroom.crypto.signing import public_key_from_text
from strongroom.edge.jobs.models import Worker
from strongroom.edge.jobs.services import leases, workers
from strongroom.edge.jobs.services.grants import GrantPurpose, GrantRefused, check_grant
from strongroom.edge.public_url import base_url
from strongroom.edge.ratelimit import over_limit
from strongroom.edge.workergate.auth import (
    WorkerRefused,
    authenticate_worker,
    edge_public_key_text,
    refusal,
    resolve_only,
    signed_json,
    verify_signed,
)
from strongroom.edge.workergate.grant import grant_payload

MAX_JSON_BODY = 256 * 1024
MAX_CLAIM_WAIT = 25
CLAIM_POLL_SECONDS = 0.5


def _json_body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_JSON_BODY:
        raise WorkerRefused("too_large", "body too large", status=413)
    try:
        data = json.loads(request.body or b"{}", parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError):
        raise WorkerRefused("malformed", "body is not JSON", status=400) from None
    if not isinstance(data, dict):
        raise WorkerRefused("malformed", "body must be a JSON object", status=400)
    return data


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")  # NaN, Infinity, -Infinity


def number_field(data: dict[str, Any], name: str, low: float, high: float) -> float:
    """A finite number within [low, high] (absent means `low`); ValueError otherwise."""
    value = data.get(name, low)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"{name} must be a number from {low} to {high}")
    return float(value)


def _authenticated(request: HttpRequest) -> tuple[Worker, str, dict[str, Any]]:
    worker, verified = authenticate_worker(
        request.method or "", request.build_absolute_uri(), request.headers, request.body
    )
    return worker, verified.nonce, _json_body(request)


@csrf_exempt
@require_POST
def enroll(request: HttpRequest) -> HttpResponse:
    try:
        data = _json_body(request)
        key = public_key_from_text(str(data.get("public_key", "")))
        verified = verify_signed(
            "POST", request.build_absolute_uri(), request.headers, request.body, resolve_only(key)
        )
        worker = workers.enroll(
            str(data.get("join_token", "")),
            str(data["public_key"]),
            str(data.get("name", "worker")),
            _labels(data),
            str(data.get("version", "")),
        )
    except (WorkerRefused, workers.EnrollmentRefused, ValueError) as exc:
        return refusal("enrollment_refused", str(exc))
    return signed_json(
        201,
        {
            "worker_id": worker.worker_id,
            "edge_public_key": edge_public_key_text(),
            "lease_seconds": settings.LEASE_SECONDS,
            "heartbeat_seconds": settings.HEARTBEAT_SECONDS,
        },
        verified.nonce,
    )


def _labels(data: dict[str, Any]) -> list[str]:
    labels = data.get("labels") or []
    if not isinstance(labels, list) or len(labels) > 32:
        raise WorkerRefused("malformed", "labels must be a list of at most 32 names", status=400)
    return [str(label)[:40] for label in labels]


@csrf_exempt
@require_POST
async def claim(request: HttpRequest) -> HttpResponse:
    try:
        worker, nonce, data = await sync_to_async(_authenticated)(request)
    except WorkerRefused as exc:
        return refusal(exc.code, exc.detail, status=exc.status)
    try:
        wait = number_field(data, "wait", 0, MAX_CLAIM_WAIT)
    except ValueError as exc:
        return signed_json(400, {"error": "malformed", "detail": str(exc)}, nonce)
    deadline = time.monotonic() + wait
    base = base_url(request)
    while True:
        grant = await sync_to_async(_claim_once)(worker, base)
        if grant is not None:
            return signed_json(200, grant, nonce)
        if time.monotonic() >= deadline:
            return signed_json(204, None, nonce)
        await asyncio.sleep(CLAIM_POLL_SECONDS)


def _claim_once(worker: Worker, base: str) -> dict[str, Any] | None:
    lease = leases.claim_next(worker)
    return grant_payload(lease, base, settings.HEARTBEAT_SECONDS) if lease else None


LeaseAction = Callable[[Worker, str, dict[str, Any]], dict[str, Any]]


def lease_endpoint(
    purpose: GrantPurpose,
) -> Callable[[LeaseAction], Callable[..., Awaitable[HttpResponse]]]:
    """Authenticate, check the grant for this lease and purpose, run the action, sign the answer."""

    def decorate(action: LeaseAction) -> Callable[..., Awaitable[HttpResponse]]:
        def handle(request: HttpRequest, lease_id: str) -> HttpResponse:
            try:
                worker, nonce, data = _authenticated(request)
                check_grant(request.GET.get("grant", ""), lease_id, purpose)
            except WorkerRefused as exc:
                return refusal(exc.code, exc.detail, status=exc.status)
            except GrantRefused as exc:
                return refusal("grant_refused", str(exc), status=403)
            try:
                return signed_json(200, action(worker, lease_id, data), nonce)
            except _ACTION_REFUSALS as exc:
                status, body = _refusal_for(exc)
                return signed_json(status, body, nonce)

        async def view(request: HttpRequest, lease_id: str) -> HttpResponse:
            return await sync_to_async(handle)(request, lease_id)

        return csrf_exempt(require_POST(view))

    return decorate


class TooFrequent(Exception):
    """A worker calls more often than its protocol needs (e.g. flooding heartbeats)."""


_ACTION_REFUSALS = (
    leases.LeaseLost,
    TooFrequent,
    leases.OutputMismatch,
    KeyError,
    TypeError,
    ValueError,
)


def _refusal_for(exc: Exception) -> tuple[int, dict[str, str]]:
    """What a lease action's failure answers (the worker acts on the status)."""
    if isinstance(exc, leases.LeaseLost):
        return 409, {"error": "lease_lost"}
    if isinstance(exc, TooFrequent):
        return 429, {"error": "rate_limited"}
    if isinstance(exc, leases.OutputMismatch):
        return 422, {"error": "output_mismatch", "detail": str(exc)}
    return 400, {"error": "malformed"}


@lease_endpoint(GrantPurpose.HEARTBEAT)
def heartbeat(worker: Worker, lease_id: str, data: dict[str, Any]) -> dict[str, Any]:
    # Per lease: a worker running several jobs heartbeats for each. Checked before any write.
    if over_limit("heartbeat", worker.worker_id, lease_id):
        raise TooFrequent
    item, cancel = leases.heartbeat(
        lease_id, worker, str(data.get("stage", "")), number_field(data, "percent", 0, 100)
    )
    expires = item.lease_expires_at.isoformat() if item.lease_expires_at else None
    return {"lease_expires_at": expires, "cancel": cancel}


@lease_endpoint(GrantPurpose.COMPLETE)
def complete(worker: Worker, lease_id: str, data: dict[str, Any]) -> dict[str, Any]:
    outputs = data["outputs"]
    if not isinstance(outputs, list):
        raise TypeError("outputs must be a list")
    leases.complete(lease_id, worker, outputs)
    return {"ok": True}


@lease_endpoint(GrantPurpose.FAIL)
def fail(worker: Worker, lease_id: str, data: dict[str, Any]) -> dict[str, Any]:
    reason = str(data.get("reason") or "The encoder failed.")[:2000]
    leases.fail(
        lease_id,
        worker,
        reason,
        retryable=data.get("retryable") is True,
        handback=data.get("handback") is True,
    )
    return {"ok": True}
