"""Body-size caps for the routes Django handles, enforced before Django sees a byte.

Django's ASGI handler copies a whole request body to a temporary file before any middleware
runs, so a cap checked in middleware comes too late (the disk already took the bytes). Here the
declared Content-Length is checked first, then at most `cap` bytes are buffered in memory and
replayed to Django; anything longer is refused without reading further.
"""

from __future__ import annotations

import json

from django.conf import settings

from strongroom.edge.asgi_io import (
    BodyTooLarge,
    ClientDisconnected,
    Message,
    Receive,
    Scope,
    Send,
    read_body,
    request_headers,
    send_response,
)

QENCODE_PREFIX = "/v1/"
FORM_OVERHEAD = 8192  # the other Qencode form fields beside `query`


def body_cap(path: str) -> int:
    if path.startswith(QENCODE_PREFIX):
        return int(settings.QENCODE_QUERY_MAX_BYTES) + FORM_OVERHEAD
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


async def buffered_within_cap(scope: Scope, receive: Receive, send: Send) -> Receive | None:
    """A `receive` that replays the (capped) body, or None after answering 413 / the envelope."""
    cap = body_cap(scope["path"])
    declared = request_headers(scope).get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > cap):
        await refuse_too_large(scope, send, cap)
        return None
    try:
        body = await read_body(receive, cap)
    except BodyTooLarge:
        await refuse_too_large(scope, send, cap)
        return None
    except ClientDisconnected:
        return None
    return _replay(body, receive)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # afterwards only http.disconnect can come

    return replay


async def refuse_too_large(scope: Scope, send: Send, cap: int) -> None:
    message = f"Request body must be at most {cap} bytes"
    if scope["path"].startswith(
        QENCODE_PREFIX
    ):  # Qencode clients read the envelope, not the status
        body, status = json.dumps({"error": 14, "message": message}).encode(), 200
    else:
        body, status = json.dumps({"error": "too_large", "detail": message}).encode(), 413
    await send_response(send, status, body, {"content-type": "application/json"})
