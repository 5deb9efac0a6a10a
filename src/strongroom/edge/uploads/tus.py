"""tus 1.0.0 resumable uploads at `<upload_url>/<task_token>` (plain ASGI; reference §7).

Extensions: creation, creation-with-upload, checksum (sha1, sha256). Each PATCH body is hashed
and encrypted as it streams into its own encrypted part object; a part only counts once the
upload's offset moved in the database, so racing or failed PATCHes change nothing.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from strongroom.edge.accounts.apikeys import ScopeMissing
from strongroom.edge.asgi_io import (
    BodyTooLarge,
    ClientDisconnected,
    Receive,
    Scope,
    Send,
    base_url,
    body_chunks,
    request_headers,
    send_response,
)
from strongroom.edge.jobs.models import Upload
from strongroom.edge.jobs.services import uploads
from strongroom.edge.jobs.services.objects import object_store
from strongroom.edge.uploads import running_hash

PREFIX = "/v1/upload_file/"
TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,checksum"
CHECKSUMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
OCTET_STREAM = "application/offset+octet-stream"
WRITE_BATCH = 1 << 20
_CREATE = re.compile(r"^/v1/upload_file/(?P<task>[0-9a-f]{32})/?$")
_UPLOAD = re.compile(r"^/v1/upload_file/(?P<task>[0-9a-f]{32})/(?P<uuid>[0-9a-f]{32})$")


class TusError(Exception):
    def __init__(self, status: int, message: str, extra: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra or {}


def handles(scope: Scope) -> bool:
    return scope["path"].startswith(PREFIX)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    headers = request_headers(scope)
    method = headers.get("x-http-method-override", scope["method"]).upper()
    try:
        status, extra = await _dispatch(scope, receive, method, headers)
    except TusError as exc:
        status, extra = exc.status, exc.extra
        await send_response(
            send,
            status,
            exc.message.encode(),
            {**_base_headers(), "content-type": "text/plain", **extra},
        )
        return
    await send_response(send, status, b"", {**_base_headers(), **extra})


def _base_headers() -> dict[str, str]:
    return {"tus-resumable": TUS_VERSION, "cache-control": "no-store"}


async def _dispatch(
    scope: Scope, receive: Receive, method: str, headers: dict[str, str]
) -> tuple[int, dict[str, str]]:
    if method == "OPTIONS":
        return 204, {
            "tus-version": TUS_VERSION,
            "tus-extension": EXTENSIONS,
            "tus-max-size": str(settings.TUS_MAX_SIZE),
            "tus-checksum-algorithm": ",".join(CHECKSUMS),
        }
    if headers.get("tus-resumable") != TUS_VERSION:
        raise TusError(412, "Tus-Resumable 1.0.0 required", {"tus-version": TUS_VERSION})
    if (match := _CREATE.match(scope["path"])) and method == "POST":
        return await _create(scope, receive, headers, match["task"])
    if match := _UPLOAD.match(scope["path"]):
        upload = await _find(match["task"], match["uuid"])
        if method == "HEAD":
            return 200, {"upload-offset": str(upload.offset), "upload-length": str(upload.length)}
        if method == "PATCH":
            return 204, {"upload-offset": str(await _patch(receive, headers, upload))}
        raise TusError(405, "method not allowed", {"allow": "HEAD, PATCH, OPTIONS"})
    if _CREATE.match(scope["path"]):
        raise TusError(405, "method not allowed", {"allow": "POST, OPTIONS"})
    raise TusError(404, "not found")


async def _find(task_token: str, uuid: str) -> Upload:
    try:
        return await sync_to_async(uploads.find_upload)(task_token, uuid)
    except uploads.UploadNotFound:
        raise TusError(404, "upload not found") from None


async def _create(
    scope: Scope, receive: Receive, headers: dict[str, str], task_token: str
) -> tuple[int, dict[str, str]]:
    if "upload-defer-length" in headers:
        raise TusError(400, "Upload-Defer-Length is not supported")
    length = _header_int(headers, "upload-length")
    try:
        upload = await sync_to_async(uploads.create_upload)(task_token, length)
    except uploads.UploadTooLarge:
        raise TusError(
            413, f"Upload-Length exceeds Tus-Max-Size ({settings.TUS_MAX_SIZE})"
        ) from None
    except uploads.UploadQuotaExceeded as exc:
        raise TusError(413, str(exc)) from None
    except uploads.UploadNotFound:
        raise TusError(404, "task not found or already started") from None
    except ScopeMissing as exc:
        raise TusError(403, str(exc)) from None
    location = f"{base_url(scope, settings.PUBLIC_URL)}{PREFIX}{task_token}/{upload.uuid}"
    extra = {"location": location, "upload-offset": "0"}
    if headers.get("content-type") == OCTET_STREAM and int(headers.get("content-length", "0") or 0):
        extra["upload-offset"] = str(
            await _patch(receive, {**headers, "upload-offset": "0"}, upload)
        )
    return 201, extra


def _header_int(headers: dict[str, str], name: str) -> int:
    value = headers.get(name, "")
    if not value.isdigit():
        raise TusError(400, f"{name} must be a non-negative integer")
    return int(value)


@dataclass
class _Received:
    size: int
    checksum_ok: bool
    disconnected: bool
    sha256: str = ""
    whole: Any | None = None  # the upload's running hash including this part, if known


async def _patch(receive: Receive, headers: dict[str, str], upload: Upload) -> int:
    if headers.get("content-type") != OCTET_STREAM:
        raise TusError(415, f"Content-Type must be {OCTET_STREAM}")
    offset = _header_int(headers, "upload-offset")
    if offset != upload.offset:
        raise TusError(409, "Upload-Offset does not match", {"upload-offset": str(upload.offset)})
    checksum = _checksum_request(headers.get("upload-checksum"))
    key = uploads.new_part_key(upload, offset)
    whole = running_hash.take(upload.uuid, offset)  # None: sealing reads the upload back
    received = await _store_part(receive, key, upload.length - offset, checksum, whole)
    if received is None:
        raise TusError(413, "body goes past Upload-Length")
    if not received.checksum_ok:
        raise TusError(460, "checksum mismatch")
    if received.size == 0:
        return offset
    try:
        new_offset = await sync_to_async(uploads.append_part)(
            upload.pk, offset, key, received.size, received.sha256
        )
    except uploads.OffsetConflict:
        await asyncio.to_thread(uploads.discard_part, key)
        raise TusError(409, "Upload-Offset does not match") from None
    whole = received.whole
    if new_offset == upload.length:
        running_hash.forget(upload.uuid)
        digest = whole.hexdigest() if whole is not None else None
        await sync_to_async(uploads.seal_upload)(upload.pk, digest)
    elif whole is not None:
        running_hash.keep(upload.uuid, new_offset, whole)
    return new_offset


def _checksum_request(value: str | None) -> tuple[str, bytes] | None:
    if not value:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    if algorithm not in CHECKSUMS:
        raise TusError(400, "unsupported checksum algorithm")
    try:
        return algorithm, base64.b64decode(encoded, validate=True)
    except ValueError:
        raise TusError(400, "malformed Upload-Checksum") from None


async def _store_part(
    receive: Receive,
    key: str,
    remaining: int,
    checksum: tuple[str, bytes] | None,
    whole: Any | None = None,
) -> _Received | None:
    """Stream the body into a new encrypted part; None when it runs past the upload's length.
    `whole` (the upload's running hash so far) is continued on a copy, returned only when the
    part is kept, so a refused part never enters it."""
    writer = object_store().open_write(key)
    hasher = CHECKSUMS[checksum[0]]() if checksum else None
    sha256 = hashlib.sha256()
    continued = whole.copy() if whole is not None else None
    buffer, size, disconnected = bytearray(), 0, False
    try:
        async for chunk in body_chunks(receive, remaining):
            sha256.update(chunk)
            if continued is not None:
                continued.update(chunk)
            if hasher:
                hasher.update(chunk)
            buffer += chunk
            size += len(chunk)
            if len(buffer) >= WRITE_BATCH:
                await asyncio.to_thread(writer.write, bytes(buffer))
                buffer.clear()
    except BodyTooLarge:
        writer.abort()
        return None
    except ClientDisconnected:
        disconnected = True  # keep what arrived: that is what makes the upload resumable
    checksum_ok = checksum is None or (
        not disconnected and hasher is not None and hasher.digest() == checksum[1]
    )
    if not checksum_ok or size == 0:
        writer.abort()
        return _Received(size=size, checksum_ok=checksum_ok, disconnected=disconnected)
    await asyncio.to_thread(writer.write, bytes(buffer))
    await asyncio.to_thread(writer.commit)
    return _Received(
        size=size,
        checksum_ok=True,
        disconnected=disconnected,
        sha256=sha256.hexdigest(),
        whole=continued,
    )
