"""The edge's ASGI application: streaming handlers beside Django, one request log for both.

tus PATCH, worker transfers and media delivery are plain ASGI handlers (they stream, hash and
encrypt bytes as they arrive); everything else is Django. Paths are normalised first (Qencode's
Python SDK polls `//v1/status`). The request log (audit/requestlog.py) records every request.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import django
from django.core.handlers.asgi import ASGIHandler

from strongroom.edge import header_limits
from strongroom.edge.asgi_io import Receive, Scope, Send
from strongroom.edge.body_cap import buffered_within_cap

_SLASHES = re.compile(r"/{2,}")
_RAW_SLASHES = re.compile(rb"/{2,}")


def build_application() -> Any:
    django.setup()
    from strongroom.edge import ratelimit  # noqa: PLC0415  (needs django.setup())
    from strongroom.edge.audit import requestlog  # noqa: PLC0415
    from strongroom.edge.delivery import media  # noqa: PLC0415
    from strongroom.edge.uploads import tus  # noqa: PLC0415
    from strongroom.edge.workergate import transfer  # noqa: PLC0415

    django_app = ASGIHandler()
    streaming = [
        (tus.handles, tus.app),
        (transfer.handles, transfer.app),
        (media.handles, media.app),
    ]
    # Route names for the request log and metrics (Django requests log their URL pattern).
    stream_routes = [
        (tus.handles, "stream:tus"),
        (transfer.handles, "stream:worker-transfer"),
        (media.handles, "stream:media"),
    ]

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        too_large = header_limits.problem(scope)
        if too_large is not None:
            await header_limits.refuse(scope, send, too_large)
            return
        wait = ratelimit.retry_after(scope)
        if wait is not None:
            await ratelimit.refuse(scope, send, wait)
            return
        for handles, handler in streaming:
            if handles(scope):
                await handler(scope, receive, send)
                return
        capped = await buffered_within_cap(scope, receive, send)
        if capped is not None:
            await django_app(scope, capped, send)

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await _lifespan(receive, send)
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        scope = {
            **scope,
            "path": _SLASHES.sub("/", scope["path"]),
            "raw_path": _RAW_SLASHES.sub(b"/", raw_path),
        }
        await requestlog.recorded(route, scope, receive, send, stream_routes)

    return application


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await asyncio.to_thread(_flush_request_log)
            await send({"type": "lifespan.shutdown.complete"})
            return


def _flush_request_log() -> None:
    from strongroom.edge.audit.request_writer import flush_pending  # noqa: PLC0415

    flush_pending(timeout=10)  # queued records reach the database before the process ends


application = build_application()
