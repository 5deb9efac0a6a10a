"""Small ASGI plumbing shared by the streaming handlers (tus, worker transfers, media delivery).

These routes bypass Django's request handling because Django spools whole bodies before a view
runs; the handlers here stream, hash and encrypt bytes as they arrive, with bounded memory.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyTooLarge(Exception):
    """The client sent more bytes than the route accepts."""


class ClientDisconnected(Exception):
    """The client went away mid-body."""


def request_headers(scope: Scope) -> dict[str, str]:
    """Lower-cased header names; repeated headers joined with ', ' as HTTP allows."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def query_params(scope: Scope) -> dict[str, str]:
    parsed = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items()}


def request_url(scope: Scope) -> str:
    """The absolute URL as the client addressed it (what a signature covers)."""
    headers = request_headers(scope)
    host = headers.get("host", "")
    path = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string", b"")
    url = f"{scope.get('scheme', 'https')}://{host}{path.decode('latin-1')}"
    return f"{url}?{query.decode('latin-1')}" if query else url


def base_url(scope: Scope, public_url: str) -> str:
    if public_url:
        return public_url.rstrip("/")
    return f"{scope.get('scheme', 'https')}://{request_headers(scope).get('host', '')}"


async def body_chunks(receive: Receive, limit: int) -> AsyncIterator[bytes]:
    """Yield the request body as it arrives; raise BodyTooLarge past `limit` bytes."""
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > limit:
            raise BodyTooLarge
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def read_body(receive: Receive, limit: int) -> bytes:
    return b"".join([chunk async for chunk in body_chunks(receive, limit)])


async def send_response(
    send: Send,
    status: int,
    body: bytes = b"",
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
) -> None:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    raw = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in pairs]
    if not any(k == b"content-length" for k, _ in raw):
        raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def send_json(
    send: Send, status: int, data: object, headers: Mapping[str, str] | None = None
) -> None:
    body = json.dumps(data, separators=(",", ":")).encode()
    await send_response(send, status, body, {"content-type": "application/json", **(headers or {})})


async def start_stream(send: Send, status: int, headers: Mapping[str, str]) -> None:
    raw = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})


async def send_chunk(send: Send, data: bytes, *, more: bool = True) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": more})


_DONE = object()


async def iterate_in_thread(blocks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Pull a blocking iterator (disk reads + decryption) one block at a time off the event loop."""
    while True:
        block = await asyncio.to_thread(next, blocks, _DONE)
        if block is _DONE:
            return
        yield block  # type: ignore[misc]
