"""Streaming worker transfers (plain ASGI): GET a lease's source, PUT a lease's output files.

Signatures and grants are checked before any body byte is read. Output bodies are hashed and
encrypted as they arrive; a body whose SHA-256 differs from its signed Content-Digest is dropped.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings

from strongroom.crypto.signing import SignatureError, sha256_from_content_digest
from strongroom.edge.asgi_io import (
    BodyTooLarge,
    ClientDisconnected,
    Receive,
    Scope,
    Send,
    body_chunks,
    iterate_in_thread,
    query_params,
    request_headers,
    request_url,
    send_chunk,
    send_json,
    start_stream,
)
from strongroom.edge.jobs.models import Output, Upload, Worker, WorkItem
from strongroom.edge.jobs.services import leases
from strongroom.edge.jobs.services.grants import GrantPurpose, GrantRefused, check_grant
from strongroom.edge.jobs.services.objects import object_store
from strongroom.edge.jobs.services.tasks import source_upload
from strongroom.edge.jobs.services.uploads import read_upload
from strongroom.edge.ranges import RangeNotSatisfiable, parse_range
from strongroom.edge.workergate.auth import WorkerRefused, authenticate_worker, signed_headers
from strongroom.storage.keys import InvalidObjectKey, validate_key

PREFIX = "/internal/worker/leases/"
_SOURCE = re.compile(r"^/internal/worker/leases/(?P<lease>lse_[0-9a-f]{32})/source$")
_OUTPUT = re.compile(
    r"^/internal/worker/leases/(?P<lease>lse_[0-9a-f]{32})/outputs/(?P<index>\d{1,3})/(?P<path>.+)$"
)
WRITE_BATCH = 1 << 20


def handles(scope: Scope) -> bool:
    path = scope["path"]
    return bool(_SOURCE.match(path) and scope["method"] in {"GET", "HEAD"}) or bool(
        _OUTPUT.match(path) and scope["method"] == "PUT"
    )


@dataclass(frozen=True)
class Authorized:
    worker: Worker
    item: WorkItem
    nonce: str


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    try:
        if match := _SOURCE.match(scope["path"]):
            await _serve_source(scope, send, match["lease"])
        elif match := _OUTPUT.match(scope["path"]):
            await _receive_output(
                scope, receive, send, match["lease"], int(match["index"]), match["path"]
            )
    except WorkerRefused as exc:
        await send_json(send, 401, {"error": exc.code, "detail": exc.detail})
    except GrantRefused as exc:
        await send_json(send, 403, {"error": "grant_refused", "detail": str(exc)})
    except leases.LeaseLost:
        await send_json(send, 409, {"error": "lease_lost"})


def _authorize(scope: Scope, lease_id: str, purpose: GrantPurpose) -> Authorized:
    headers = request_headers(scope)
    body = b"" if scope["method"] in {"GET", "HEAD"} else None
    worker, verified = authenticate_worker(scope["method"], request_url(scope), headers, body)
    check_grant(query_params(scope).get("grant", ""), lease_id, purpose)
    return Authorized(worker, leases.held_lease(lease_id, worker), verified.nonce)


async def _serve_source(scope: Scope, send: Send, lease_id: str) -> None:
    auth = await sync_to_async(_authorize)(scope, lease_id, GrantPurpose.SOURCE)
    upload = await sync_to_async(_lease_upload)(auth.item)
    if upload is None:
        await send_json(send, 404, {"error": "no_source"})
        return
    try:
        start, end = parse_range(request_headers(scope).get("range"), upload.offset)
    except RangeNotSatisfiable:
        await send_json(
            send,
            416,
            {"error": "range_not_satisfiable"},
            {"content-range": f"bytes */{upload.offset}"},
        )
        return
    await _stream_upload(scope, send, upload, start, end)


def _lease_upload(item: WorkItem) -> Upload | None:
    return source_upload(str(item.task.spec["source"]))


async def _stream_upload(scope: Scope, send: Send, upload: Upload, start: int, end: int) -> None:
    partial = (start, end) != (0, upload.offset)
    headers = {
        "content-type": "application/octet-stream",
        "content-length": str(end - start),
        "accept-ranges": "bytes",
    }
    if partial:
        headers["content-range"] = f"bytes {start}-{end - 1}/{upload.offset}"
    await start_stream(send, 206 if partial else 200, headers)
    if scope["method"] == "HEAD":
        await send_chunk(send, b"", more=False)
        return
    store = object_store()
    for key, p_start, p_end in read_upload(upload, start, end):
        async for block in iterate_in_thread(store.read(key, p_start, p_end)):
            await send_chunk(send, block)
    await send_chunk(send, b"", more=False)


async def _receive_output(
    scope: Scope, receive: Receive, send: Send, lease_id: str, index: int, path: str
) -> None:
    auth = await sync_to_async(_authorize)(scope, lease_id, GrantPurpose.OUTPUT)
    headers = request_headers(scope)
    try:
        validate_key(path)
        expected = sha256_from_content_digest(headers.get("content-digest", ""))
        length = int(headers["content-length"])
    except (InvalidObjectKey, SignatureError, KeyError, ValueError):
        await send_json(send, 400, {"error": "malformed"})
        return
    if length > settings.WORKER_OUTPUT_MAX_SIZE:
        await send_json(send, 413, {"error": "too_large"})
        return
    if not await sync_to_async(_output_exists)(auth.item, index):
        await send_json(send, 404, {"error": "unknown_output"})
        return
    key = leases.output_key(auth.item, index, path)
    status, result = await _store_body(receive, key, expected, length)
    if status == 201:
        try:
            await sync_to_async(leases.record_stored_file)(
                auth.worker, auth.item, index, path, key, length, result
            )
        except leases.LeaseLost:
            await asyncio.to_thread(object_store().delete, key)
            raise
    data = {"path": path, "size": length, "sha256": result} if status == 201 else {"error": result}
    await _send_signed(send, status, json.dumps(data).encode(), auth.nonce)


def _output_exists(item: WorkItem, index: int) -> bool:
    return Output.objects.filter(task_id=item.task_id, index=index).exists()


async def _store_body(receive: Receive, key: str, expected: bytes, length: int) -> tuple[int, str]:
    """Stream the body into the encrypted store; (201, sha256 hex) or (status, error code)."""
    writer = object_store().open_write(key)
    digest, buffer, size = hashlib.sha256(), bytearray(), 0
    try:
        async for chunk in body_chunks(receive, length):
            digest.update(chunk)
            buffer += chunk
            size += len(chunk)
            if len(buffer) >= WRITE_BATCH:
                await asyncio.to_thread(writer.write, bytes(buffer))
                buffer.clear()
        await asyncio.to_thread(writer.write, bytes(buffer))
        if size != length or digest.digest() != expected:
            raise ValueError("digest_mismatch")
        await asyncio.to_thread(writer.commit)
    except (BodyTooLarge, ClientDisconnected, ValueError) as exc:
        writer.abort()
        return (413, "too_large") if isinstance(exc, BodyTooLarge) else (400, "digest_mismatch")
    return 201, digest.hexdigest()


async def _send_signed(send: Send, status: int, body: bytes, nonce: str) -> None:
    headers = {
        "content-type": "application/json",
        "content-length": str(len(body)),
        **signed_headers(status, body, nonce),
    }
    await start_stream(send, status, headers)
    await send_chunk(send, body, more=False)
