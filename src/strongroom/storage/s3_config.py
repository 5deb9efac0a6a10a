"""Connection settings for an S3-compatible endpoint, the boto3 client built from them, and
the per-part checksums the server verifies.

Kept apart from the store so the client's transport choices (SigV4 everywhere, path-style
addressing for self-hosted servers, explicit timeouts and retries) are in one small place.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

# boto3 ships no type stubs and none are installed (mypy treats it as untyped through the
# project's ignore_missing_imports), so the client is typed as Any wherever it is used.
import boto3
from botocore.config import Config

MIN_PART_SIZE = 5 << 20  # S3's (and SeaweedFS's) minimum size of every part but the last
MAX_PART_SIZE = 5 << 30
MAX_PARTS = 10_000
DEFAULT_PART_SIZE = 16 << 20
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


class AddressingStyle(enum.Enum):
    """How the bucket appears in request URLs."""

    PATH = "path"  # http://host/bucket/key: works with any self-hosted server, no DNS needed
    VIRTUAL = "virtual"  # http://bucket.host/key: AWS's preferred style


class PartChecksum(enum.Enum):
    """The integrity check sent with every PutObject and UploadPart, verified by the server
    before it stores the bytes. SHA256 and CRC32 are S3's "flexible checksums"; CONTENT_MD5 is
    the fallback for S3-compatible servers that predate them."""

    SHA256 = "SHA256"
    CRC32 = "CRC32"
    CONTENT_MD5 = "MD5"


class InvalidS3Settings(ValueError):
    """The S3 settings cannot work (the message never contains credentials)."""


@dataclass(frozen=True)
class S3Settings:
    """Where the bucket lives and how to sign requests to it.

    Credentials left as None come from boto3's default chain (environment, shared config,
    instance or pod role). They are excluded from `repr`, so settings can be logged."""

    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    addressing_style: AddressingStyle = AddressingStyle.PATH
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_attempts: int = 3

    def __post_init__(self) -> None:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise InvalidS3Settings("give both the S3 access key id and the secret, or neither")
        if self.endpoint_url is not None and not self.endpoint_url.startswith(
            ("https://", "http://")
        ):
            raise InvalidS3Settings("the S3 endpoint URL must start with https:// or http://")
        if self.max_attempts < 1 or self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise InvalidS3Settings("S3 timeouts must be positive and attempts at least 1")


def validate_bucket(bucket: str) -> str:
    """Return `bucket` if it is a valid S3 bucket name (3-63 of a-z 0-9 . -); else ValueError."""
    if not isinstance(bucket, str) or _BUCKET_NAME.fullmatch(bucket) is None or ".." in bucket:
        raise InvalidS3Settings("the S3 bucket name must be 3-63 characters of a-z, 0-9, '.', '-'")
    return bucket


def validate_part_size(part_size: int) -> int:
    """Return `part_size` if S3 accepts it for multipart uploads (5 MiB to 5 GiB)."""
    if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
        raise InvalidS3Settings("the S3 part size must be between 5 MiB and 5 GiB")
    return part_size


def _botocore_config(settings: S3Settings) -> Any:
    return Config(
        signature_version="s3v4",  # presigned URLs default to SigV2 otherwise
        s3={"addressing_style": settings.addressing_style.value},
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries={"max_attempts": settings.max_attempts, "mode": "standard"},
        # The store computes and sends each part's checksum itself (see PartChecksum), so
        # botocore must not add a second one; operations that require one still get it.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_supported",
    )


def make_client(settings: S3Settings) -> Any:
    """A boto3 S3 client for `settings`, from a private session (the default session is
    shared process-wide state and not safe to configure from several threads)."""
    session = boto3.session.Session(
        aws_access_key_id=settings.access_key_id,
        aws_secret_access_key=settings.secret_access_key,
        aws_session_token=settings.session_token,
        region_name=settings.region,
    )
    return session.client(
        "s3", endpoint_url=settings.endpoint_url, config=_botocore_config(settings)
    )


def checksum_fields(mode: PartChecksum, data: bytes | bytearray) -> dict[str, str]:
    """The request parameters that make the server verify `data` before storing it: the
    base64 digest under the name PutObject/UploadPart (and the part list) expect."""
    if mode is PartChecksum.SHA256:
        return {"ChecksumSHA256": base64.b64encode(hashlib.sha256(data).digest()).decode()}
    if mode is PartChecksum.CRC32:
        crc = zlib.crc32(data).to_bytes(4, "big")
        return {"ChecksumCRC32": base64.b64encode(crc).decode()}
    # MD5 is what S3 servers without flexible checksums verify; it guards integrity in
    # transit only, next to SigV4 and TLS, so its weakness as a hash does not matter here.
    md5 = hashlib.md5(data, usedforsecurity=False).digest()
    return {"ContentMD5": base64.b64encode(md5).decode()}
