"""Copy files from the encrypted object store to a client's S3 bucket with boto3.

boto3 does the S3 work (SigV4, multipart uploads for large files, ACL, Cache-Control, storage
class), but every HTTP request it makes is sent through the SSRF-safe pinned connection of
``strongroom.outbound``: a ``before-send`` hook hands the signed request over, so the endpoint
(and each virtual-hosted bucket name) is resolved, checked against the public-address rules and
the operator's allowlist, and connected to only at a checked address. boto3's own HTTP client,
which would connect by name, is never used.

Errors are ``CopyFailed`` whose message names the bucket and key and the S3 error code or the
outbound reason; never the credentials, a signature or the endpoint's answer text.
"""

from __future__ import annotations

import io
import ipaddress
import mimetypes
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.awsrequest import AWSResponse
from django.conf import settings
from urllib3 import HTTPHeaderDict

from strongroom.media.destinations import DestinationCredentials, S3Location
from strongroom.outbound import FetchPolicy, OutboundError, send_bytes, system_resolver
from strongroom.storage.interface import ObjectNotFound
from strongroom.storage.s3 import StorageError, translate_errors
from strongroom.storage.s3_config import AddressingStyle, S3Settings, make_client

PART_SIZE = 16 << 20  # larger files go up as multipart uploads of this part size
MAX_ANSWER_BYTES = 1 << 20  # S3 API answers to uploads are small XML documents
# Types for the files our outputs contain that the mimetypes table lacks or gets wrong.
_CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".mpd": "application/dash+xml",
    ".m4s": "video/iso.segment",
    ".ts": "video/mp2t",
    ".vtt": "text/vtt",
    ".webm": "video/webm",
    ".flac": "audio/flac",
    ".mkv": "video/x-matroska",
    ".webp": "image/webp",
}
# Headers the pinned sender sets itself, or that httpx cannot honour (100-continue).
_DROPPED_HEADERS = frozenset({"host", "expect", "transfer-encoding"})


class CopyFailed(Exception):
    """A file could not be copied; the message is safe to show the client."""


@dataclass(frozen=True)
class CopyRequest:
    """One file to copy and the object options it gets."""

    bucket: str
    key: str
    chunks: Iterator[bytes]
    permissions: str = ""
    cache_control: str = ""
    storage_class: str = ""


def destination_policy() -> FetchPolicy:
    """The outbound rules for S3 endpoints: public addresses only, unless the operator opened
    networks (STRONGROOM_DESTINATION_ALLOW_NETWORKS) and ports for an internal server."""
    return FetchPolicy(
        allow_networks=tuple(settings.DESTINATION_ALLOW_NETWORKS),
        allowed_ports=tuple(sorted({80, 443, *settings.DESTINATION_ALLOW_PORTS})),
        connect_timeout=10.0,
        idle_timeout=120.0,
        total_timeout=600.0,  # per request: one part of at most PART_SIZE bytes
        max_bytes=MAX_ANSWER_BYTES,
    )


def endpoint_url(location: S3Location) -> str:
    """https, or plain http when every address of the host is in the operator's
    STRONGROOM_DESTINATION_HTTP_NETWORKS (an internal server without TLS)."""
    networks = [ipaddress.ip_network(n, strict=False) for n in settings.DESTINATION_HTTP_NETWORKS]
    scheme = "https"
    if networks:
        try:
            found = system_resolver(location.host.strip("[]"), location.port or 80)
        except OSError:
            found = []
        if found and all(any(a in net for net in networks) for a in found):
            scheme = "http"
    return f"{scheme}://{location.netloc}"


class S3Copier:
    """A boto3 client for one destination endpoint, pinned through the outbound rules."""

    def __init__(
        self,
        location: S3Location,
        credentials: DestinationCredentials,
        endpoint: str,
        policy: FetchPolicy,
    ) -> None:
        config = S3Settings(
            endpoint_url=endpoint,
            region=location.region,
            access_key_id=credentials.access_key,
            secret_access_key=credentials.secret_key,
            addressing_style=AddressingStyle.VIRTUAL if location.is_aws else AddressingStyle.PATH,
            max_attempts=1,  # retries are the delivery job's, with its own back-off
        )
        self.client: Any = make_client(config)
        self.client.meta.events.register_first("before-send.s3", pinned_sender(policy))

    def copy(self, request: CopyRequest) -> None:
        """Upload one file (multipart above PART_SIZE); raises CopyFailed."""
        extra = {"ContentType": content_type(request.key)}
        for name, value in (
            ("ACL", request.permissions),
            ("CacheControl", request.cache_control),
            ("StorageClass", request.storage_class),
        ):
            if value:
                extra[name] = value
        transfer = TransferConfig(
            multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE, use_threads=False
        )
        body = io.BufferedReader(_ChunkReader(request.chunks), buffer_size=1 << 20)
        try:
            with translate_errors("PutObject", request.bucket, request.key):
                self.client.upload_fileobj(
                    body, request.bucket, request.key, ExtraArgs=extra, Config=transfer
                )
            if request.permissions and request.permissions != "private":
                # Some S3-compatible servers (SeaweedFS) store uploads private whatever the
                # x-amz-acl header says; setting the ACL again makes it hold everywhere.
                with translate_errors("PutObjectAcl", request.bucket, request.key):
                    self.client.put_object_acl(
                        Bucket=request.bucket, Key=request.key, ACL=request.permissions
                    )
        except ObjectNotFound:
            raise CopyFailed(_where(request) + ": the bucket does not exist") from None
        except StorageError as exc:
            raise CopyFailed(f"{_where(request)}: {exc.reason}") from None
        except OutboundError as exc:
            raise CopyFailed(f"{_where(request)}: {exc.reason}") from None

    def close(self) -> None:
        self.client.close()


def _where(request: CopyRequest) -> str:
    return f"bucket {request.bucket!r}, key {request.key!r}"


def content_type(key: str) -> str:
    suffix = posixpath.splitext(key)[1].lower()
    guessed = mimetypes.guess_type(key)[0]
    return _CONTENT_TYPES.get(suffix) or guessed or "application/octet-stream"


class _ChunkReader(io.RawIOBase):
    """A read-only stream over an iterator of byte chunks (the encrypted store's plaintext),
    so boto3 can read it as a file without the whole file being held in memory."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


class _Raw:
    """What botocore reads a response body from (``raw.stream()``)."""

    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._content


def pinned_sender(policy: FetchPolicy) -> Callable[..., AWSResponse]:
    """A botocore ``before-send`` handler that sends the signed request itself, through the
    outbound rules, and returns the whole answer (S3 upload answers are small)."""

    def send(request: Any, **_: Any) -> AWSResponse:
        headers = {
            str(name): value.decode() if isinstance(value, bytes) else str(value)
            for name, value in request.headers.items()
            if str(name).lower() not in _DROPPED_HEADERS
        }
        reply = send_bytes(request.method, request.url, headers, _body(request.body), policy)
        return AWSResponse(
            request.url, reply.status, HTTPHeaderDict(reply.headers), _Raw(reply.content)
        )

    return send


def _body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    data = body.read()  # a part (bounded by PART_SIZE) or a small document
    return data.encode() if isinstance(data, str) else bytes(data)
