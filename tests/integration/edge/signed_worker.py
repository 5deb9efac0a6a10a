"""A worker as the edge sees it: an Ed25519 key, enrolled through the real endpoint, signing
every request (RFC 9421) and checking every signed answer against the edge's key."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from strongroom.crypto.signing import (
    SignedHeaders,
    generate_private_key,
    public_key_from_text,
    public_key_to_text,
    sign_request,
    verify_response,
)
from tests.integration.edge.edge_client import BASE_URL, EdgeClient

ENROLL_URL = f"{BASE_URL}/internal/worker/enroll"
CLAIM_URL = f"{BASE_URL}/internal/worker/claim"


@dataclass(frozen=True)
class Sent:
    """A response together with the nonce of the request it answers."""

    response: httpx.Response
    nonce: str

    @property
    def status(self) -> int:
        return self.response.status_code

    def json(self) -> Any:
        return self.response.json()


def absolute(url: str) -> str:
    """The URL exactly as httpx will send it (encoded, dot segments removed): what is signed."""
    return str(httpx.URL(url if url.startswith("https://") else BASE_URL + url))


def sign(
    key: Ed25519PrivateKey,
    key_id: str,
    method: str,
    url: str,
    body: bytes | None,
    **options: Any,
) -> SignedHeaders:
    return sign_request(
        method=method, url=absolute(url), body=body, key=key, key_id=key_id, **options
    )


def send_signed(
    edge: EdgeClient,
    method: str,
    url: str,
    content: bytes | None,
    signed: SignedHeaders,
    *,
    headers: dict[str, str] | None = None,
    timeout: float | None = None,
) -> Sent:
    response = edge.request(
        method,
        absolute(url),
        content=content,
        headers={**signed.headers, **(headers or {})},
        timeout=timeout,
    )
    return Sent(response, signed.nonce)


def check_signed_answer(sent: Sent, edge_key: Ed25519PublicKey) -> None:
    """Raises SignatureError unless the edge signed this answer for this very request."""
    verify_response(
        status=sent.status,
        headers=dict(sent.response.headers),
        body=sent.response.content,
        request_nonce=sent.nonce,
        public_key=edge_key,
    )


def enrollment_body(key: Ed25519PrivateKey, join_token: str) -> bytes:
    return json.dumps(
        {
            "join_token": join_token,
            "public_key": public_key_to_text(key.public_key()),
            "name": "test-worker",
            "labels": ["cpu"],
            "version": "test",
        }
    ).encode()


def request_enrollment(
    edge: EdgeClient,
    key: Ed25519PrivateKey,
    join_token: str,
    signing_key: Ed25519PrivateKey | None = None,
) -> Sent:
    body = enrollment_body(key, join_token)
    signed = sign(signing_key or key, "enroll", "POST", ENROLL_URL, body)
    return send_signed(edge, "POST", ENROLL_URL, body, signed)


@dataclass
class SignedWorker:
    edge: EdgeClient
    key: Ed25519PrivateKey
    worker_id: str
    edge_key: Ed25519PublicKey

    def sign(self, method: str, url: str, body: bytes | None, **options: Any) -> SignedHeaders:
        return sign(self.key, self.worker_id, method, url, body, **options)

    def send(
        self,
        method: str,
        url: str,
        body: bytes = b"",
        *,
        headers: dict[str, str] | None = None,
        **sign_options: Any,
    ) -> Sent:
        signed = self.sign(method, url, body, **sign_options)
        return send_signed(self.edge, method, url, body, signed, headers=headers)

    def post_json(self, url: str, data: dict[str, Any], **options: Any) -> Sent:
        return self.send("POST", url, json.dumps(data).encode(), **options)

    def claim(self, wait: float = 0) -> Sent:
        return self.post_json(CLAIM_URL, {"wait": wait})

    def claim_grant(self) -> dict[str, Any]:
        sent = self.claim()
        assert sent.status == 200, sent.response.text
        check_signed_answer(sent, self.edge_key)
        return dict(sent.json())

    def put_output(self, grant: dict[str, Any], index: int, path: str, data: bytes) -> Sent:
        return self.send("PUT", output_url(grant, index, path), data)


def output_url(grant: dict[str, Any], index: int, path: str) -> str:
    """`<path of output_base_url>/<index>/<relative path>?grant=…` (worker-protocol.md)."""
    base, _, query = str(grant["output_base_url"]).partition("?")
    return f"{base}/{index}/{path}?{query}"


def enroll(edge: EdgeClient, join_token: str) -> SignedWorker:
    key = generate_private_key()
    sent = request_enrollment(edge, key, join_token)
    assert sent.status == 201, sent.response.text
    data = sent.json()
    edge_key = public_key_from_text(data["edge_public_key"])
    check_signed_answer(sent, edge_key)
    return SignedWorker(edge, key, data["worker_id"], edge_key)


def output_report(index: int, kind: str, files: dict[str, bytes], main_file: str) -> dict[str, Any]:
    """An OutputReport (worker-protocol.md) for files the worker uploaded."""
    return {
        "index": index,
        "kind": kind,
        "main_file": main_file,
        "files": [
            {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for path, data in files.items()
        ],
        "duration": 2.0,
        "bitrate": 800,
        "width": 320,
        "height": 240,
        "renditions": [
            {
                "width": 320,
                "height": 240,
                "bitrate": 800,
                "video_codec": "h264",
                "audio_codec": "aac",
            }
        ],
    }


def with_grant_of(url: str, other: str) -> str:
    """`url`'s path with the `grant` query of `other` (a capability moved to another use)."""
    return url.partition("?")[0] + "?" + other.partition("?")[2]
