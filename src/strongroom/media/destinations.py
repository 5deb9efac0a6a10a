"""Where an output is copied once it is made: an S3-compatible bucket (Qencode's ``destination``).

``DestinationSpec`` is the part of a destination that may be stored with the job and shown in
its status: the ``s3://`` URL, the canned ACL, ``Cache-Control`` and the storage class. The
access key and secret never enter a ``JobSpec``; the parser hands them over separately
(``DestinationCredentials``) so the edge stores them encrypted.

URL forms (Qencode's reference, §5.7):

* ``s3://host[:port]/bucket/key``: any S3-compatible endpoint (AWS, DigitalOcean, R2, MinIO...).
  The host is recognised by a dot, a port, an IP literal or ``localhost``.
* ``s3://bucket/key``: a bucket on AWS (``s3.amazonaws.com``); the bucket name has no dot (a
  bucket with dots must be written with its host, as the two forms would read alike).

For segmented and multi-file outputs the key is a folder (a trailing ``/`` is implied); for
single-file outputs it is the object's name, or a folder when it ends in ``/`` (the output's own
file name is then appended).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from strongroom.media.output_kinds import SEGMENTED_KINDS, OutputKind

MAX_DESTINATIONS = 5  # per output: the same files copied to each
MAX_URL_CHARS = 2048
MAX_KEY_ID_CHARS = 128
MAX_SECRET_CHARS = 256
MAX_CACHE_CONTROL_CHARS = 256
AWS_HOST = "s3.amazonaws.com"

# S3's canned ACLs that apply to objects (log-delivery-write is for buckets only).
PERMISSIONS = (
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
)
STORAGE_CLASSES = (
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "GLACIER_IR",
    "DEEP_ARCHIVE",
)
# Kinds whose destination URL names a folder (Qencode: HLS/DASH packages and thumbnail series).
FOLDER_KINDS = frozenset(SEGMENTED_KINDS | {OutputKind.THUMBNAILS})

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_HOST = re.compile(r"^(?!-)[a-z0-9-]{1,63}(\.(?!-)[a-z0-9-]{1,63})*$")
# Object names: S3's "safe" characters plus a few; no empty, "." or ".." segments.
_KEY = re.compile(r"^[A-Za-z0-9!\-_.*'()+,;=&$]+(/[A-Za-z0-9!\-_.*'()+,;=&$]+)*/?$")
_DIRECTIVE = r"[A-Za-z][A-Za-z-]*(=([0-9]+|[A-Za-z0-9-]+|\"[A-Za-z0-9 ,_-]*\"))?"
_CACHE_CONTROL = re.compile(rf"^{_DIRECTIVE}(\s*,\s*{_DIRECTIVE})*$")
# A printable ASCII credential with no spaces (AWS ids are [A-Z0-9], secrets base64-ish).
_CREDENTIAL = re.compile(r"^[\x21-\x7e]+$")
_AWS_REGION = re.compile(r"^s3[.-]([a-z0-9-]+)\.amazonaws\.com$")


@dataclass(frozen=True)
class S3Location:
    """A parsed ``s3://`` URL: endpoint host and port (None: the scheme's default), bucket and
    key (the object's name, or a folder prefix ending in ``/``, or "" for the bucket's root)."""

    host: str
    port: int | None
    bucket: str
    key: str

    @property
    def is_aws(self) -> bool:
        return self.host == AWS_HOST or self.host.endswith(".amazonaws.com")

    @property
    def region(self) -> str:
        """The signing region: from an AWS regional host, else us-east-1 (what S3-compatible
        servers accept when they have no regions)."""
        found = _AWS_REGION.match(self.host)
        return found.group(1) if found else "us-east-1"

    @property
    def netloc(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"


def parse_s3_url(text: str) -> S3Location:
    """Parse ``s3://host[:port]/bucket/key`` or ``s3://bucket/key``; ``ValueError`` with a
    client-safe message (never echoing the URL) otherwise."""
    # Checked on the whole text before parsing: urlsplit silently drops tabs and newlines.
    if len(text) > MAX_URL_CHARS or any(ord(ch) < 33 or ord(ch) > 126 for ch in text):
        raise ValueError(
            f"must be an s3:// URL of at most {MAX_URL_CHARS} printable characters without spaces"
        )
    if not text.lower().startswith("s3://"):
        raise ValueError("must be an s3:// URL (other destination types are not supported yet)")
    if "@" in text:
        # The legacy s3://id:secret@host form; a secret may hold "/", so look at the whole URL.
        raise ValueError("must not contain credentials: give them as key and secret")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError("must be s3://host[:port]/bucket/key or s3://bucket/key") from None
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise ValueError("must not have a query or fragment")
    authority = (parts.hostname or "").lower()
    path = parts.path.removeprefix("/")
    if _names_host(authority, port):
        bucket, _, key = path.partition("/")
        host = _checked_host(authority)
    else:
        bucket, key, host = authority, path, AWS_HOST
    return S3Location(host, port, _checked_bucket(bucket), _checked_key(key))


def _names_host(authority: str, port: int | None) -> bool:
    return (
        port is not None
        or "." in authority
        or authority in {"localhost", ""}
        or (authority.startswith("["))
    )


def _checked_host(host: str) -> str:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if not _HOST.match(host):
            raise ValueError("has a malformed host") from None
    return host


def _checked_bucket(bucket: str) -> str:
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise ValueError("must name a bucket of 3-63 characters of a-z, 0-9, '.', '-'")
    return bucket


def _checked_key(key: str) -> str:
    if key == "":
        return key
    if len(key) > 1024 or not _KEY.match(key):
        raise ValueError("has an object key with characters S3 keys here may not use")
    if any(segment in {".", ".."} for segment in key.rstrip("/").split("/")):
        raise ValueError("must not contain '.' or '..' path segments")
    return key


def check_cache_control(text: str) -> str:
    """Return ``text`` if it is a list of Cache-Control directives; ``ValueError`` else."""
    if len(text) > MAX_CACHE_CONTROL_CHARS or not _CACHE_CONTROL.match(text):
        raise ValueError(
            f"must be Cache-Control directives such as max-age=3600, public"
            f" (at most {MAX_CACHE_CONTROL_CHARS} characters)"
        )
    return text


def check_credential(text: str, max_chars: int) -> str:
    """Return ``text`` if it is 1..max_chars printable characters without spaces. The
    message never contains the value."""
    if not 0 < len(text) <= max_chars or not _CREDENTIAL.match(text):
        raise ValueError(f"must be 1-{max_chars} printable characters without spaces")
    return text


class DestinationSpec(BaseModel):
    """One destination of an output, without its credentials (safe to store and show)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(max_length=MAX_URL_CHARS)
    permissions: str | None = None
    cache_control: str | None = None
    storage_class: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parse_s3_url(value)
        return value

    @field_validator("permissions")
    @classmethod
    def _permissions(cls, value: str | None) -> str | None:
        if value is not None and value not in PERMISSIONS:
            raise ValueError("is not a canned ACL")
        return value

    @field_validator("storage_class")
    @classmethod
    def _storage_class(cls, value: str | None) -> str | None:
        if value is not None and value not in STORAGE_CLASSES:
            raise ValueError("is not a storage class")
        return value

    @field_validator("cache_control")
    @classmethod
    def _cache_control(cls, value: str | None) -> str | None:
        return None if value is None else check_cache_control(value)

    @property
    def location(self) -> S3Location:
        return parse_s3_url(self.url)


@dataclass(frozen=True)
class DestinationCredentials:
    """The access key id and secret of one destination; never part of a repr."""

    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)

    def __post_init__(self) -> None:
        check_credential(self.access_key, MAX_KEY_ID_CHARS)
        check_credential(self.secret_key, MAX_SECRET_CHARS)


def object_key(location: S3Location, kind: OutputKind, path: str, main_file: str) -> str | None:
    """The destination key of the output file ``path`` (relative to the output's folder), or
    None when that file is not copied (a single-file output copies only its main file)."""
    if kind in FOLDER_KINDS:
        return f"{location.key.rstrip('/')}/{path}".lstrip("/")
    if path != main_file:
        return None
    if location.key == "" or location.key.endswith("/"):
        return f"{location.key}{main_file}"
    return location.key
