"""Signed media delivery (plain ASGI): `/media/<token>/<path>`, HTTP Range, decrypted on the fly.

The token names an output's storage prefix and an expiry, so relative links inside HLS playlists
and DASH manifests (segment templates, CMAF init segments) resolve under the same token.
Nothing else is needed to serve a file: no database access.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from django.conf import settings  # noqa: F401  (settings must be configured before serving)

from strongroom.edge.asgi_io import (
    Receive,
    Scope,
    Send,
    iterate_in_thread,
    request_headers,
    send_chunk,
    send_response,
    start_stream,
)
from strongroom.edge.jobs.services.grants import GrantRefused, media_prefix
from strongroom.edge.jobs.services.objects import object_store
from strongroom.edge.ranges import RangeNotSatisfiable, parse_range
from strongroom.storage.interface import ObjectNotFound
from strongroom.storage.keys import InvalidObjectKey, validate_key

PREFIX = "/media/"
_MEDIA = re.compile(r"^/media/(?P<token>[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)/(?P<path>.+)$")
CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m4a": "audio/mp4",
    ".m4s": "video/iso.segment",
    ".ts": "video/mp2t",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".mpd": "application/dash+xml",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
    ".mov": "video/quicktime",
    ".mp3": "audio/mpeg",
    ".json": "application/json",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".flac": "audio/flac",
    ".png": "image/png",
    ".vtt": "text/vtt",
}
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "content-security-policy": "sandbox; default-src 'none'",
    "cache-control": "private, max-age=300",
    "access-control-allow-origin": "*",
    "cross-origin-resource-policy": "cross-origin",
    "referrer-policy": "no-referrer",
}


def handles(scope: Scope) -> bool:
    return scope["path"].startswith(PREFIX)


async def app(scope: Scope, receive: Receive, send: Send) -> None:  # noqa: ARG001  (no body)
    if scope["method"] not in {"GET", "HEAD"}:
        await send_response(send, 405, b"", {"allow": "GET, HEAD"})
        return
    match = _MEDIA.match(scope["path"])
    try:
        if match is None:
            raise ObjectNotFound(scope["path"])
        key = validate_key(media_prefix(match["token"]) + match["path"])
        size = object_store().size(key)
        start, end = parse_range(request_headers(scope).get("range"), size)
    except (GrantRefused, InvalidObjectKey, ObjectNotFound):
        await send_response(send, 404, b"not found", {"content-type": "text/plain"})
        return
    except RangeNotSatisfiable:
        await send_response(send, 416, b"", {"content-range": f"bytes */{size}"})
        return
    await _send_object(scope, send, key, size, start, end)


async def _send_object(scope: Scope, send: Send, key: str, size: int, start: int, end: int) -> None:
    partial = (start, end) != (0, size)
    headers = {
        **SECURITY_HEADERS,
        "accept-ranges": "bytes",
        "content-length": str(end - start),
        "content-type": CONTENT_TYPES.get(PurePosixPath(key).suffix, "application/octet-stream"),
    }
    if partial:
        headers["content-range"] = f"bytes {start}-{end - 1}/{size}"
    await start_stream(send, 206 if partial else 200, headers)
    if scope["method"] == "GET" and end > start:
        async for block in iterate_in_thread(object_store().read(key, start, end)):
            await send_chunk(send, block)
    await send_chunk(send, b"", more=False)
