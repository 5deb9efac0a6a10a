"""Limits on a request's headers, checked first in the ASGI app (before rate limits, handlers or
Django): at most MAX_HEADERS headers and MAX_HEADER_BYTES of names and values together.

The HTTP server (uvicorn with h11) bounds only a head that arrives in pieces; a large head sent
at once gets through it, so the rule that clients can rely on lives here. Over a limit: 431, in
the Qencode envelope on Qencode routes.
"""

from __future__ import annotations

import json

from strongroom.edge.asgi_io import Scope, Send, send_response

MAX_HEADERS = 100
MAX_HEADER_BYTES = 16 * 1024


def problem(scope: Scope) -> str | None:
    headers = scope.get("headers") or []
    if len(headers) > MAX_HEADERS:
        return f"too many request headers (at most {MAX_HEADERS})"
    if sum(len(name) + len(value) for name, value in headers) > MAX_HEADER_BYTES:
        return f"request headers too large (at most {MAX_HEADER_BYTES} bytes)"
    return None


async def refuse(scope: Scope, send: Send, message: str) -> None:
    if scope["path"].startswith("/v1/"):
        body = {"error": 14, "message": message}  # Qencode's "field required / bad request"
    else:
        body = {"error": "headers_too_large", "detail": message}
    await send_response(send, 431, json.dumps(body).encode(), {"content-type": "application/json"})
