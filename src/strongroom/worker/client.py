"""The worker's HTTPS client for the edge: every request signed, every JSON answer verified.

Requests are signed with the worker's Ed25519 key (RFC 9421, ``strongroom.crypto.signing``);
successful JSON answers must carry the edge's signature over the status, the body digest and
our request's nonce, so an answer can be neither forged nor replayed onto another request.
Error statuses are classified by status alone (their bodies are only logged), so nothing
unverified is ever acted on beyond "this call failed".
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from strongroom.crypto.signing import (
    SignatureError,
    content_digest_from_sha256,
    public_key_from_text,
    sign_request,
    verify_response,
)
from strongroom.crypto.tls import client_ssl_context
from strongroom.outbound.addresses import is_loopback_host
from strongroom.worker.grant import redact_url

logger = logging.getLogger(__name__)

UPLOAD_CHUNK = 1 << 20


class EdgeError(Exception):
    """Base class for failures talking to the edge. Messages hold no tokens or key material."""


class AuthRefused(EdgeError):
    """401: the edge does not accept this worker's key (revoked, unknown, or a bad signature)."""


class LeaseLost(EdgeError):
    """409: the lease moved on (expired, re-leased, cancelled or finished)."""


class EdgeUnavailable(EdgeError):
    """The edge could not be reached or answered 5xx, even after retries."""


class EdgeRejected(EdgeError):
    """Any other unexpected status (e.g. 413, 422), or an answer that failed verification."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry connection errors and 5xx answers."""

    attempts: int = 5
    first_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int) -> float:
        """Exponential backoff with up to 25% jitter, so a fleet doesn't retry in lockstep."""
        base = min(self.max_delay, self.first_delay * (2.0 ** (attempt - 1)))
        return base * (1 + secrets.randbelow(250) / 1000)


@dataclass(frozen=True)
class EdgeReply:
    """A verified answer: its status and its JSON object (None for an empty 204)."""

    status: int
    data: dict[str, Any] | None


def check_edge_url(edge_url: str) -> str:
    """Return ``edge_url`` without a trailing slash; raise ValueError unless it is https.

    Plain http is accepted only for a loopback host (development and local tests).
    """
    parts = urlsplit(edge_url)
    if parts.scheme == "https" and parts.hostname:
        return edge_url.rstrip("/")
    if parts.scheme == "http" and is_loopback_host(parts.hostname or ""):
        return edge_url.rstrip("/")
    raise ValueError("the edge URL must be https (http only for a loopback host)")


class EdgeClient:
    """Signed JSON calls, streamed source downloads and streamed output uploads to the edge.

    ``edge_public_key`` is None only while enrolling: the enroll answer is then checked against
    the key it carries (TLS to a verified edge is what makes that key trustworthy).
    Safe to share between the job thread and the heartbeat thread.
    """

    def __init__(
        self,
        edge_url: str,
        *,
        key: Ed25519PrivateKey,
        key_id: str,
        edge_public_key: Ed25519PublicKey | None,
        ca_file: Path | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.edge_url = check_edge_url(edge_url)
        self._key, self._key_id = key, key_id
        self._edge_public_key = edge_public_key
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        timeout = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)
        verify = True if transport is not None else client_ssl_context(ca_file)
        self._http = httpx.Client(
            verify=verify,
            timeout=timeout,
            transport=transport,
            trust_env=False,
            follow_redirects=False,
        )

    def close(self) -> None:
        """Close pooled connections."""
        self._http.close()

    def endpoint(self, path: str) -> str:
        """The absolute URL of an edge path such as ``/internal/worker/claim``."""
        return f"{self.edge_url}{path}"

    def post_json(
        self,
        url: str,
        payload: Mapping[str, Any],
        *,
        expected: frozenset[int] = frozenset({200}),
        read_timeout: float | None = None,
    ) -> EdgeReply:
        """POST ``payload`` as JSON, signed; return the verified answer.

        Raises AuthRefused (401), LeaseLost (409), EdgeUnavailable (network/5xx after retries)
        or EdgeRejected (any other status, or a missing or bad response signature).
        """
        body = json.dumps(payload, separators=(",", ":")).encode()
        url = _encoded(url)

        def build() -> tuple[httpx.Request, str]:
            signed = sign_request(
                method="POST", url=url, body=body, key=self._key, key_id=self._key_id
            )
            headers = {**signed.headers, "Content-Type": "application/json"}
            request = self._build("POST", url, headers, content=body, read_timeout=read_timeout)
            return request, signed.nonce

        return self._exchange(build, expected)

    def put_file(self, url: str, path: Path, *, size: int, sha256_hex: str) -> EdgeReply:
        """PUT the file at ``path`` (streamed from disk) and return the verified 201 answer.

        ``Content-Digest`` comes from ``sha256_hex``, computed beforehand, so the body needn't
        be held in memory to sign the request; the edge discards the upload if they differ.
        """
        digest = content_digest_from_sha256(bytes.fromhex(sha256_hex))
        url = _encoded(url)

        def build() -> tuple[httpx.Request, str]:
            signed = sign_request(
                method="PUT",
                url=url,
                body=None,
                key=self._key,
                key_id=self._key_id,
                content_digest_value=digest,
            )
            headers = {
                **signed.headers,
                "Content-Length": str(size),
                "Content-Type": "application/octet-stream",
            }
            request = self._build("PUT", url, headers, content=_file_chunks(path))
            return request, signed.nonce

        return self._exchange(build, frozenset({201}))

    @contextmanager
    def open_source(self, url: str, *, start: int = 0) -> Iterator[httpx.Response]:
        """Open a signed, streamed GET of the source, from byte ``start`` (HTTP Range).

        Yields a response with status 200 or 206; the caller checks size and SHA-256. Network
        errors surface as ``httpx.TransportError`` so the caller can resume.
        """
        url = _encoded(url)
        signed = sign_request(method="GET", url=url, body=b"", key=self._key, key_id=self._key_id)
        headers = dict(signed.headers)
        if start:
            headers["Range"] = f"bytes={start}-"
        response = self._http.send(self._build("GET", url, headers), stream=True)
        try:
            if response.status_code not in (200, 206):
                response.read()
                _raise_for_status(response, url)
            yield response
        finally:
            response.close()

    def _build(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        *,
        content: bytes | Iterator[bytes] | None = None,
        read_timeout: float | None = None,
    ) -> httpx.Request:
        timeout = httpx.Timeout(connect=10.0, read=read_timeout or 60.0, write=60.0, pool=10.0)
        return self._http.build_request(
            method, url, headers=headers, content=content, timeout=timeout
        )

    def _exchange(
        self, build: Callable[[], tuple[httpx.Request, str]], expected: frozenset[int]
    ) -> EdgeReply:
        response, nonce = self._send_with_retry(build)
        if response.status_code not in expected:
            _raise_for_status(response, str(response.request.url))
        return self._verified(response, nonce)

    def _send_with_retry(
        self, build: Callable[[], tuple[httpx.Request, str]]
    ) -> tuple[httpx.Response, str]:
        failure = ""
        for attempt in range(1, self._retry.attempts + 1):
            request, nonce = build()  # re-signed each time: a fresh nonce and timestamps
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                failure = type(exc).__name__
            else:
                if response.status_code < 500:
                    return response, nonce
                failure = f"HTTP {response.status_code}"
            logger.warning(
                "edge call %s %s failed (%s), attempt %d",
                request.method,
                redact_url(str(request.url)),
                failure,
                attempt,
            )
            if attempt < self._retry.attempts:
                self._sleep(self._retry.delay(attempt))
        raise EdgeUnavailable(f"the edge is unavailable ({failure})")

    def _verified(self, response: httpx.Response, nonce: str) -> EdgeReply:
        body = response.content
        if response.status_code == 204 and not body and "signature" not in response.headers:
            return EdgeReply(204, None)  # "no work": nothing in it to act on
        data = _json_object(body)
        key = self._edge_public_key or _enroll_key(data)
        try:
            verify_response(
                status=response.status_code,
                headers=response.headers,
                body=body,
                request_nonce=nonce,
                public_key=key,
            )
        except SignatureError as exc:
            raise EdgeRejected(
                "the edge's answer failed signature verification", code=exc.code
            ) from None
        return EdgeReply(response.status_code, data)


def _encoded(url: str) -> str:
    """The URL exactly as httpx will send it, which is what the signature must cover."""
    return str(httpx.URL(url))


def _raise_for_status(response: httpx.Response, url: str) -> None:
    code = _error_code(response)
    status = response.status_code
    logger.info("edge answered %d (%s) to %s", status, code or "-", redact_url(url))
    if status == 401:
        raise AuthRefused(f"the edge refused this worker ({code or 'unauthorized'})")
    if status == 409:
        raise LeaseLost("the lease is no longer this worker's")
    if status >= 500:
        raise EdgeUnavailable(f"the edge is unavailable (HTTP {status})")
    raise EdgeRejected(f"the edge answered HTTP {status}", status=status, code=code)


def _error_code(response: httpx.Response) -> str:
    try:
        data = json.loads(response.content)
    except ValueError:
        return ""
    code = data.get("error") if isinstance(data, dict) else None
    return code if isinstance(code, str) and code.isascii() and len(code) <= 64 else ""


def _json_object(body: bytes) -> dict[str, Any] | None:
    if not body:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        raise EdgeRejected("the edge's answer is not JSON") from None
    if not isinstance(data, dict):
        raise EdgeRejected("the edge's answer is not a JSON object")
    return data


def _enroll_key(data: dict[str, Any] | None) -> Ed25519PublicKey:
    try:
        return public_key_from_text(str((data or {})["edge_public_key"]))
    except (KeyError, ValueError, SignatureError):
        raise EdgeRejected("the enrollment answer carries no valid edge key") from None


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(UPLOAD_CHUNK):
            yield chunk
