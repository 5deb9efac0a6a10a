"""Synchronous calls into the whole edge ASGI application (streaming handlers beside Django).

`async_to_sync` runs the app on its own event loop and services the app's thread-sensitive
`sync_to_async` calls (the ORM) on the calling thread, so the test and the app share one
database connection; such tests still need `django_db(transaction=True)`, because Django's
request_finished signal closes the connection after every request.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from asgiref.sync import async_to_sync

from strongroom.edge.asgi import application

BASE_URL = "https://testserver"
FORM = "application/x-www-form-urlencoded"


class EdgeClient:
    """One fresh `httpx.AsyncClient(transport=ASGITransport(app=application))` per request."""

    def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        return async_to_sync(self._send)(method, url, content, headers, timeout)

    async def _send(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: dict[str, str] | None,
        timeout: float | None,
    ) -> httpx.Response:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            call = client.request(method, url, content=content, headers=headers)
            return await (call if timeout is None else asyncio.wait_for(call, timeout))

    def post_form(self, path: str, fields: dict[str, Any]) -> tuple[int, Any]:
        """POST form fields (lists become repeated keys); (HTTP status, decoded JSON)."""
        body = urlencode(fields, doseq=True).encode()
        response = self.request("POST", path, content=body, headers={"content-type": FORM})
        return response.status_code, response.json()


@dataclass
class RawExchange:
    """What a hand-driven ASGI request produced, and how much of its body the app pulled."""

    status: int
    body: bytes
    chunks_read: int


def post_in_chunks(path: str, headers: dict[str, str], chunk: bytes, count: int) -> RawExchange:
    """POST `count` copies of `chunk` as separate ASGI body messages, counting the reads."""
    read = 0
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        if read > count:  # the client stays connected until the app has answered
            await asyncio.get_running_loop().create_future()
        return {"type": "http.request", "body": chunk, "more_body": read < count}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in {"host": "testserver", **headers}.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 443),
    }
    async_to_sync(application)(scope, receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return RawExchange(start["status"], body, min(read, count))
