"""The tus 1.0.0 wire sequence (reference qencode-api.md §7), spoken to the ASGI app."""

from __future__ import annotations

import base64
import hashlib

import httpx

from tests.integration.edge.edge_client import EdgeClient

TUS_VERSION = "1.0.0"
OCTET = "application/offset+octet-stream"


def upload_url(task_token: str) -> str:
    return f"/v1/upload_file/{task_token}"


def create(edge: EdgeClient, task_token: str, length: int, **headers: str) -> httpx.Response:
    sent = {"tus-resumable": TUS_VERSION, "upload-length": str(length), "upload-metadata": ""}
    return edge.request("POST", upload_url(task_token), headers={**sent, **headers})


def create_upload(edge: EdgeClient, task_token: str, length: int) -> str:
    """POST a new upload; its absolute Location."""
    response = create(edge, task_token, length)
    assert response.status_code == 201, response.text
    return response.headers["location"]


def head(edge: EdgeClient, location: str) -> httpx.Response:
    return edge.request("HEAD", location, headers={"tus-resumable": TUS_VERSION})


def offset(edge: EdgeClient, location: str) -> int:
    response = head(edge, location)
    assert response.status_code == 200
    return int(response.headers["upload-offset"])


def patch(edge: EdgeClient, location: str, at: int, data: bytes, **headers: str) -> httpx.Response:
    sent = {"tus-resumable": TUS_VERSION, "upload-offset": str(at), "content-type": OCTET}
    return edge.request("PATCH", location, content=data, headers={**sent, **headers})


def sha256_checksum(data: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()


def upload(edge: EdgeClient, task_token: str, data: bytes, chunk: int) -> str:
    """A whole upload in chunks, each with its Upload-Checksum; the upload's uuid."""
    location = create_upload(edge, task_token, len(data))
    for at in range(0, len(data), chunk):
        piece = data[at : at + chunk]
        response = patch(edge, location, at, piece, **{"upload-checksum": sha256_checksum(piece)})
        assert response.status_code == 204, response.text
        assert int(response.headers["upload-offset"]) == at + len(piece)
    return location.rsplit("/", 1)[1]
