"""Synchronous calls into the whole edge ASGI application (streaming handlers beside Django).

`async_to_sync` runs the app on its own event loop and services the app's thread-sensitive
`sync_to_async` calls (the ORM) on the calling thread, so the test and the app share one
database connection; such tests still need `django_db(transaction=True)`, because Django's
request_finished signal closes the connection after every request.
"""

from __future__ import annotations

import asyncio
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
