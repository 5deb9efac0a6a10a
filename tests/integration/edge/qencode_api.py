"""Calling the Qencode v1 API the way its SDKs do: form-encoded POSTs, JSON envelopes."""

from __future__ import annotations

import json
from typing import Any, Protocol
from urllib.parse import urlencode

from django.test import Client

from tests.integration.edge.db_state import snapshot
from tests.integration.edge.edge_client import FORM

EXTERNAL_SOURCE = "https://media.example.com/in.mp4"
MP4_FORMAT: dict[str, Any] = {"output": "mp4", "resolution": 240, "tag": "small"}
HLS_FORMAT: dict[str, Any] = {
    "output": "advanced_hls",
    "stream": [{"resolution": 240}, {"resolution": 360}],
}


class FormPoster(Protocol):
    def post_form(self, path: str, fields: dict[str, Any]) -> tuple[int, Any]: ...


class DjangoForms:
    """`django.test.Client` behind the same interface as the ASGI EdgeClient."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def post_form(self, path: str, fields: dict[str, Any]) -> tuple[int, Any]:
        response = self.client.post(path, urlencode(fields, doseq=True), content_type=FORM)
        return response.status_code, response.json()


def query_text(source: str = EXTERNAL_SOURCE, formats: list[dict[str, Any]] | None = None) -> str:
    """start_encode2's `query` field: the wrapped JSON text every SDK sends."""
    return json.dumps({"query": {"source": source, "format": formats or [MP4_FORMAT]}})


class QencodeApi:
    def __init__(self, poster: FormPoster) -> None:
        self.poster = poster

    def call(self, method: str, **fields: Any) -> dict[str, Any]:
        """One v1 call; asserts the envelope contract (HTTP 200, integer `error`)."""
        status, data = self.poster.post_form(f"/v1/{method}", fields)
        assert status == 200, data
        assert type(data["error"]) is int, data
        if data["error"]:
            assert isinstance(data["message"], str) and data["message"], data
        return data

    def ok(self, method: str, **fields: Any) -> dict[str, Any]:
        data = self.call(method, **fields)
        assert data["error"] == 0, data
        return data

    def session_token(self, api_key: str) -> str:
        return str(self.ok("access_token", api_key=api_key)["token"])

    def new_task(self, api_key: str) -> str:
        return str(self.ok("create_task", token=self.session_token(api_key))["task_token"])

    def start(self, task_token: str, query: str | None = None) -> dict[str, Any]:
        return self.ok("start_encode2", task_token=task_token, query=query or query_text())

    def status(self, *tokens: str) -> dict[str, Any]:
        return dict(self.ok("status", task_tokens=",".join(tokens))["statuses"])


def refused(api: QencodeApi, method: str, code: int, **fields: Any) -> str:
    """Call `method`, expect error `code` in the envelope and no change to anything stored;
    return the message."""
    before = snapshot()
    data = api.call(method, **fields)
    assert data["error"] == code, data
    assert snapshot() == before
    return str(data["message"])
