"""A small client for the Qencode v1 API and its tus uploads, over verified HTTPS.

The tus part is written here (about 30 lines over httpx) rather than taken from `tuspy`: the
test suite pins tuspy 0.2.5 for the Qencode SDK's sake, and one package can't be installed at
two versions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from strongroom.crypto.tls import client_ssl_context

UPLOAD_CHUNK = 16 * 1024 * 1024
TERMINAL = {"completed", "error", "cancelled"}


class QencodeApiError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"error {code}: {message}")
        self.code, self.message = code, message


class QencodeClient:
    def __init__(self, base_url: str, ca_file: Path | None = None, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(verify=client_ssl_context(ca_file), timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> QencodeClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def call(self, url: str, **fields: str | list[str]) -> dict[str, Any]:
        response = self.http.post(url, data=fields)
        data: dict[str, Any] = response.json()
        if data.get("error"):
            raise QencodeApiError(int(data["error"]), str(data.get("message", "")))
        return data

    def access_token(self, api_key: str) -> str:
        return str(self.call(f"{self.base_url}/v1/access_token", api_key=api_key)["token"])

    def create_task(self, token: str) -> tuple[str, str]:
        data = self.call(f"{self.base_url}/v1/create_task", token=token)
        return str(data["task_token"]), str(data["upload_url"])

    def start_encode2(self, task_token: str, query: dict[str, Any], payload: str = "") -> str:
        data = self.call(
            f"{self.base_url}/v1/start_encode2",
            task_token=task_token,
            query=json.dumps({"query": query}),
            payload=payload,
        )
        return str(data["status_url"])

    def status(self, status_url: str, task_token: str) -> dict[str, Any]:
        statuses = self.call(status_url, task_tokens=task_token)["statuses"]
        return dict(statuses[task_token])

    def upload(
        self,
        upload_url: str,
        task_token: str,
        path: Path,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> str:
        """tus upload of `path`; returns the `tus:<uuid>` source for start_encode2."""
        size = path.stat().st_size
        created = self.http.post(
            f"{upload_url}/{task_token}",
            headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(size), "Upload-Metadata": ""},
        )
        created.raise_for_status()
        location = str(httpx.URL(f"{upload_url}/{task_token}").join(created.headers["location"]))
        with path.open("rb") as handle:
            self._send_chunks(location, handle, size, on_progress)
        return "tus:" + location.rstrip("/").rsplit("/", 1)[-1]

    def _send_chunks(
        self,
        location: str,
        handle: BinaryIO,
        size: int,
        on_progress: Callable[[int, int], None] | None,
    ) -> None:
        offset = 0
        while offset < size:
            chunk = handle.read(UPLOAD_CHUNK)
            reply = self.http.patch(
                location,
                content=chunk,
                headers={
                    "Tus-Resumable": "1.0.0",
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            reply.raise_for_status()
            offset = int(reply.headers["upload-offset"])
            if on_progress:
                on_progress(offset, size)

    def wait(
        self,
        status_url: str,
        task_token: str,
        on_status: Callable[[dict[str, Any]], None],
        poll: float = 1.0,
        timeout: float = 3600.0,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(status_url, task_token)
            on_status(status)
            if status.get("status") in TERMINAL or status.get("error"):
                return status
            if time.monotonic() > deadline:
                raise TimeoutError("the task did not finish in time")
            status_url = status.get("status_url") or status_url
            time.sleep(poll)

    def download(self, url: str, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with self.http.stream("GET", url) as response, dest.open("wb") as out:
            response.raise_for_status()
            for block in response.iter_bytes(1 << 20):
                out.write(block)
        return dest
