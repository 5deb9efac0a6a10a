"""Where the object store lives when it is a bucket: one URL, `s3://host[:port]/bucket[/prefix]`.

The form is the one Qencode destinations use (the endpoint's host first, then the bucket and
an optional folder), so operators write S3 locations one way everywhere. It becomes the
S3Settings that s3_config understands:

    s3://host[:port]/bucket[/prefix]       endpoint https://host[:port]
    s3+http://host[:port]/bucket[/prefix]  endpoint http://host[:port] (a private server only:
                                           the bytes are ciphertext, but requests are not)
    ?region=eu-west-1                      else the region in an AWS host name, else us-east-1
    ?addressing=virtual                    bucket in the host name (default: path style)

Credentials never go in the URL (it is printed in messages and easy to leak): a URL with
user information is refused, and the caller passes them from its own secret settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from strongroom.storage.interface import ObjectNotFound
from strongroom.storage.keys import InvalidObjectKey, validate_prefix
from strongroom.storage.s3 import S3Store, StorageError, translate_errors
from strongroom.storage.s3_config import (
    AddressingStyle,
    InvalidS3Settings,
    S3Settings,
    validate_bucket,
)

__all__ = ["S3Location", "open_s3_store", "parse_s3_url", "verify_bucket"]

_SCHEMES = {"s3": "https", "s3+http": "http"}
_OPTIONS = frozenset({"region", "addressing"})
_AWS_REGION = re.compile(
    r"(?:^|\.)s3[.-](?:dualstack\.)?([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com$"
)
_REGION = re.compile(r"[a-z0-9-]{1,40}")


@dataclass(frozen=True)
class S3Location:
    """A bucket, the folder in it, and how to reach it; `str()` is safe to print."""

    bucket: str
    prefix: str
    settings: S3Settings

    def __str__(self) -> str:
        folder = f"/{self.prefix}" if self.prefix else ""
        return f"bucket {self.bucket}{folder} at {self.settings.endpoint_url}"


def parse_s3_url(
    url: str,
    *,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    session_token: str | None = None,
) -> S3Location:
    """The location `url` names, signed with the given credentials (None: boto3's default
    chain). InvalidS3Settings says what is wrong without echoing the URL."""
    parts = urlsplit(url.strip())
    scheme = _SCHEMES.get(parts.scheme)
    if scheme is None or not parts.hostname:
        raise InvalidS3Settings("the object store must be s3://host[:port]/bucket[/folder]")
    if "@" in parts.netloc:
        raise InvalidS3Settings("credentials don't belong in the S3 URL; give them separately")
    if parts.fragment:
        raise InvalidS3Settings("the S3 URL must not have a #fragment")
    _check_port(parts.netloc)
    bucket, _, prefix = parts.path.lstrip("/").partition("/")
    options = _options(parts.query)
    settings = S3Settings(
        endpoint_url=f"{scheme}://{parts.netloc}",
        region=options.get("region") or _aws_region(parts.hostname) or "us-east-1",
        addressing_style=_addressing(options.get("addressing", "path")),
        access_key_id=access_key_id or None,
        secret_access_key=secret_access_key or None,
        session_token=session_token or None,
    )
    return S3Location(validate_bucket(bucket), _prefix(prefix), settings)


def _check_port(netloc: str) -> None:
    try:
        urlsplit(f"//{netloc}").port  # noqa: B018  (parsing it is the check)
    except ValueError:
        raise InvalidS3Settings("the S3 URL's port is not a number from 0 to 65535") from None


def _prefix(prefix: str) -> str:
    try:
        return validate_prefix(prefix)
    except InvalidObjectKey as exc:
        raise InvalidS3Settings(f"the folder in the S3 URL is not valid: {exc}") from None


def _options(query: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise InvalidS3Settings("the S3 URL's query string is malformed") from None
    options = dict(pairs)
    unknown = sorted(set(options) - _OPTIONS)
    if unknown or len(options) != len(pairs):
        raise InvalidS3Settings(f"the S3 URL takes only {sorted(_OPTIONS)}, each at most once")
    if "region" in options and _REGION.fullmatch(options["region"]) is None:
        raise InvalidS3Settings("the S3 region must be letters, digits and '-'")
    return options


def _addressing(value: str) -> AddressingStyle:
    try:
        return AddressingStyle(value)
    except ValueError:
        raise InvalidS3Settings("the S3 addressing must be 'path' or 'virtual'") from None


def _aws_region(host: str) -> str | None:
    match = _AWS_REGION.search(host)
    return match[1] if match else None


def open_s3_store(location: S3Location) -> S3Store:
    """An S3Store for the location (builds its client; no request is made)."""
    return S3Store(location.bucket, prefix=location.prefix, settings=location.settings)


def verify_bucket(store: S3Store) -> None:
    """Check with one HeadBucket that the bucket exists and the credentials may use it;
    StorageError (no credentials in its message) if not."""
    try:
        with translate_errors("HeadBucket", store.bucket, store.prefix):
            store.client.head_bucket(Bucket=store.bucket)
    except ObjectNotFound:
        raise StorageError(
            "HeadBucket", store.bucket, store.prefix, "NoSuchBucket (HTTP 404)"
        ) from None
