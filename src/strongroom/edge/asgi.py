"""The edge's ASGI application: streaming handlers beside Django, one access log for both.

tus PATCH, worker transfers and media delivery are plain ASGI handlers (they stream, hash and
encrypt bytes as they arrive); everything else is Django. Paths are normalised first (Qencode's
Python SDK polls `//v1/status`).
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

import django
from django.core.handlers.asgi import ASGIHandler

from strongroom.edge.asgi_io import Receive, Scope, Send
from strongroom.edge.body_cap import buffered_within_cap

logger = logging.getLogger("strongroom.access")
_SLASHES = re.compile(r"/{2,}")
_RAW_SLASHES = re.compile(rb"/{2,}")
_SECRET_SEGMENTS = [
    (re.compile(r"^/media/[^/]+/"), "/media/<token>/"),
    (re.compile(r"^/v1/upload_file/[0-9a-f]{32}"), "/v1/upload_file/<task>"),
]


def build_application() -> Any:
    django.setup()
    from strongroom.edge import ratelimit  # noqa: PLC0415  (needs django.setup())
    from strongroom.edge.delivery import media  # noqa: PLC0415
    from strongroom.edge.uploads import tus  # noqa: PLC0415
    from strongroom.edge.workergate import transfer  # noqa: PLC0415

    django_app = ASGIHandler()
    streaming = [
        (tus.handles, tus.app),
        (transfer.handles, transfer.app),
        (media.handles, media.app),
    ]

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
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
        await _logged(route, scope, receive, send)

    return application


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _logged(app: Any, scope: Scope, receive: Receive, send: Send) -> None:
    started, status = time.monotonic(), 0

    async def send_and_note(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        await send(message)

    try:
        await app(scope, receive, send_and_note)
    finally:
        logger.info(
            json.dumps(
                {
                    "method": scope["method"],
                    "path": redact(scope["path"]),
                    "status": status,
                    "ms": round((time.monotonic() - started) * 1000, 1),
                    "client": (scope.get("client") or ["-"])[0],
                }
            )
        )


def redact(path: str) -> str:
    """Never log capability tokens: media tokens and task tokens in paths (queries are dropped)."""
    for pattern, replacement in _SECRET_SEGMENTS:
        path = pattern.sub(replacement, path)
    return path


application = build_application()
