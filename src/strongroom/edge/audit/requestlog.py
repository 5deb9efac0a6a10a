"""The request log: one record per HTTP request, taken at the outermost ASGI layer.

Recording wraps the whole edge (rate limits, the streaming handlers and Django), so tus
uploads, worker transfers and media delivery are logged like any Django view. A record holds
no secrets: the query string is never read (signed URLs carry their signatures there), bodies
are only counted, the only header kept is the user agent, and capability tokens inside paths
are redacted. Each record is written as one JSON line on the `strongroom.requests` logger and
handed to a background writer for the database (request_writer.py), so the response never
waits for a database write.

Surfaces say who a request acted as with `set_actor` once they have authenticated it.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from django.urls import Resolver404, resolve

from strongroom.edge.audit import request_metrics
from strongroom.edge.audit.models import ActorKind
from strongroom.edge.audit.request_writer import writer

logger = logging.getLogger("strongroom.requests")

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
StreamRoute = tuple[Callable[[Scope], bool], str]

UNMATCHED = "unmatched"
CLIENT_GONE = 499  # nginx's code for "the client closed the connection first"
USER_AGENT_MAX = 300
PATH_MAX = 500
_REQUEST_ID = b"x-request-id"
# Capability tokens that travel in paths: media tokens, task tokens, then any long opaque
# segment (reset links, future tokens). File names keep their dots, so they stay readable.
_SECRET_SEGMENTS = [
    (re.compile(r"^/media/[^/]+/"), "/media/<token>/"),
    (re.compile(r"^/v1/upload_file/[0-9a-f]{32}"), "/v1/upload_file/<task>"),
    (re.compile(r"(?<=/)(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}(?=/|$)"), "<token>"),
]


@dataclass
class _Actor:
    """Mutable on purpose: Django runs views in copied contexts (tasks, threads), which share
    this object but not later `ContextVar.set` calls, so the surfaces fill it in place."""

    kind: str = ActorKind.NONE
    id: str = ""
    organization_id: int | None = None


_CURRENT: contextvars.ContextVar[_Actor | None] = contextvars.ContextVar(
    "strongroom_request_actor", default=None
)


def set_actor(
    kind: ActorKind,
    actor_id: str | int,
    organization_id: int | None = None,
    *,
    unless_known: bool = False,
) -> None:
    """Record who the current request acts as (no-op outside a request, e.g. in the CLI).

    `unless_known`: keep an actor named earlier (an API-key request that also carries a
    browser session cookie acted as the key).
    """
    actor = _CURRENT.get()
    if actor is None or (unless_known and actor.kind != ActorKind.NONE):
        return
    actor.kind, actor.id, actor.organization_id = kind, str(actor_id)[:64], organization_id


@dataclass(frozen=True)
class RequestRecord:
    started_at: datetime
    request_id: str
    method: str
    route: str
    path: str
    status: int
    duration_ms: float
    bytes_in: int
    bytes_out: int
    actor_kind: str
    actor_id: str
    organization_id: int | None
    address: str
    user_agent: str

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "started_at": self.started_at.isoformat()}


@dataclass
class _Exchange:
    """What the wrapper saw go by: counted, never kept."""

    request_id: str
    status: int = 0
    bytes_in: int = 0
    bytes_out: int = 0


async def recorded(
    app: App, scope: Scope, receive: Receive, send: Send, streams: Sequence[StreamRoute]
) -> None:
    """Run `app` for one HTTP request and log it, whatever the app does."""
    started_at, started = datetime.now(UTC), time.perf_counter()
    seen = _Exchange(request_id=secrets.token_hex(8))
    actor = _Actor()
    token = _CURRENT.set(actor)

    async def counting_receive() -> Message:
        message = await receive()
        seen.bytes_in += len(message.get("body", b""))
        return message

    async def noting_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = _with_request_id(message, seen)
            seen.status = message["status"]
        elif message["type"] == "http.response.body":
            seen.bytes_out += len(message.get("body", b""))
        await send(message)

    try:
        await app(scope, counting_receive, noting_send)
    except asyncio.CancelledError:
        seen.status = seen.status or CLIENT_GONE
        raise
    except BaseException:
        seen.status = seen.status or 500  # the server answers 500 for an app that raised
        raise
    finally:
        _CURRENT.reset(token)
        duration = (time.perf_counter() - started) * 1000
        try:
            _finish(_record(scope, streams, started_at, duration, seen, actor))
        except Exception:  # a logging fault must not turn an answered request into an error
            logging.getLogger(__name__).exception("request log: a record was lost")
            request_metrics.dropped(1)


def _with_request_id(message: Message, seen: _Exchange) -> Message:
    """Use Django's X-Request-Id when it set one; give the streaming handlers' answers one."""
    headers = list(message.get("headers", []))
    for name, value in headers:
        if name.lower() == _REQUEST_ID:
            seen.request_id = value.decode("latin-1")[:32]
            return message
    return {**message, "headers": [*headers, (_REQUEST_ID, seen.request_id.encode())]}


def _record(
    scope: Scope,
    streams: Sequence[StreamRoute],
    started_at: datetime,
    duration_ms: float,
    seen: _Exchange,
    actor: _Actor,
) -> RequestRecord:
    return RequestRecord(
        started_at=started_at,
        request_id=seen.request_id,
        method=str(scope.get("method", ""))[:10],
        route=route_of(scope, streams),
        path=redact(scope.get("path", ""))[:PATH_MAX],
        status=seen.status,
        duration_ms=round(duration_ms, 3),
        bytes_in=seen.bytes_in,
        bytes_out=seen.bytes_out,
        actor_kind=str(actor.kind),
        actor_id=actor.id,
        organization_id=actor.organization_id,
        address=str((scope.get("client") or ("",))[0])[:64],
        user_agent=_user_agent(scope),
    )


def _finish(record: RequestRecord) -> None:
    request_metrics.observe(record.route, record.status, record.duration_ms / 1000)
    logger.info(record.as_json())
    writer().submit(record)


def route_of(scope: Scope, streams: Sequence[StreamRoute]) -> str:
    """A route template, never a concrete path: a streaming handler's name or Django's route."""
    for handles, name in streams:
        if handles(scope):
            return name
    try:
        match = resolve(scope.get("path", ""))
    except Resolver404:
        return UNMATCHED
    return "/" + match.route if match.route else UNMATCHED


def redact(path: str) -> str:
    """The path with capability tokens replaced (the query string never gets here)."""
    for pattern, replacement in _SECRET_SEGMENTS:
        path = pattern.sub(replacement, path)
    return path


def _user_agent(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name.lower() == b"user-agent":
            return str(value.decode("latin-1"))[:USER_AGENT_MAX]
    return ""
