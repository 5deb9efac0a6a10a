"""S3 settings, names and part checksums: validation that runs before any request."""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from strongroom.storage.s3_config import (
    MAX_PART_SIZE,
    MIN_PART_SIZE,
    AddressingStyle,
    InvalidS3Settings,
    PartChecksum,
    S3Settings,
    checksum_fields,
    make_client,
    validate_bucket,
    validate_part_size,
)


@pytest.mark.parametrize("bucket", ["abc", "strongroom-media", "a.b-c.1", "x" * 63, "0bucket9"])
def test_it_accepts_valid_bucket_names(bucket: str) -> None:
    assert validate_bucket(bucket) == bucket


@pytest.mark.parametrize(
    "bucket",
    [
        "",
        "ab",
        "x" * 64,
        "Upper",
        "under_score",
        "-dash",
        "dash-",
        "a..b",
        "a/b",
        "a b",
        "é-bucket",
    ],
)
def test_it_refuses_invalid_bucket_names(bucket: str) -> None:
    with pytest.raises(InvalidS3Settings):
        validate_bucket(bucket)


@pytest.mark.parametrize("size", [MIN_PART_SIZE, 16 << 20, MAX_PART_SIZE])
def test_it_accepts_part_sizes_s3_allows(size: int) -> None:
    assert validate_part_size(size) == size


@pytest.mark.parametrize("size", [0, -1, MIN_PART_SIZE - 1, MAX_PART_SIZE + 1])
def test_it_refuses_part_sizes_s3_would_reject(size: int) -> None:
    with pytest.raises(InvalidS3Settings, match="part size"):
        validate_part_size(size)


@pytest.mark.parametrize(
    ("key_id", "secret"), [("AKIDEXAMPLE", None), (None, "only-a-secret-value")]
)
def test_settings_need_both_halves_of_a_credential_or_neither(
    key_id: str | None, secret: str | None
) -> None:
    with pytest.raises(InvalidS3Settings) as info:
        S3Settings(access_key_id=key_id, secret_access_key=secret)
    assert "only-a-secret-value" not in str(info.value)


@pytest.mark.parametrize("url", ["ftp://s3.example", "s3.example:9000", "file:///etc", "//host"])
def test_settings_refuse_endpoints_that_are_not_http(url: str) -> None:
    with pytest.raises(InvalidS3Settings, match="endpoint"):
        S3Settings(endpoint_url=url)


@pytest.mark.parametrize(
    "changes", [{"max_attempts": 0}, {"connect_timeout": 0}, {"read_timeout": -1.0}]
)
def test_settings_refuse_unusable_timeouts(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidS3Settings):
        S3Settings(**changes)


def test_settings_repr_hides_credentials() -> None:
    settings = S3Settings(
        endpoint_url="https://s3.example",
        access_key_id="AKIDEXAMPLE",
        secret_access_key="wJalrXUtnFEMI-secret",
        session_token="session-token-value",
    )
    text = repr(settings)
    assert "https://s3.example" in text
    for secret in ("AKIDEXAMPLE", "wJalrXUtnFEMI-secret", "session-token-value"):
        assert secret not in text


def test_the_client_signs_with_sigv4_and_path_style_urls() -> None:
    client = make_client(
        S3Settings(
            endpoint_url="https://s3.example:9000",
            access_key_id="AKIDEXAMPLE",
            secret_access_key="wJalrXUtnFEMI-secret",
        )
    )
    url = client.generate_presigned_url("get_object", Params={"Bucket": "media", "Key": "a/b"})
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("s3.example:9000", "/media/a/b")
    assert parse_qs(parts.query)["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert "wJalrXUtnFEMI-secret" not in url


def test_virtual_host_addressing_puts_the_bucket_in_the_host() -> None:
    settings = S3Settings(
        endpoint_url="https://s3.example",
        access_key_id="AKIDEXAMPLE",
        secret_access_key="secret",
        addressing_style=AddressingStyle.VIRTUAL,
    )
    url = make_client(settings).generate_presigned_url(
        "get_object", Params={"Bucket": "media", "Key": "k"}
    )
    assert urlsplit(url).netloc == "media.s3.example"


def test_checksum_fields_carry_the_digest_s3_expects() -> None:
    data = b"The quick brown fox"
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
    assert checksum_fields(PartChecksum.SHA256, data) == {"ChecksumSHA256": sha}
    assert checksum_fields(PartChecksum.CRC32, data) == {"ChecksumCRC32": crc}
    assert checksum_fields(PartChecksum.CONTENT_MD5, data) == {"ContentMD5": md5}


def test_known_checksum_vectors() -> None:
    # Published values for "abc": SHA-256 (FIPS 180-2) and CRC-32 (0x352441C2).
    assert (
        checksum_fields(PartChecksum.SHA256, b"abc")["ChecksumSHA256"]
        == base64.b64encode(
            bytes.fromhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        ).decode()
    )
    assert checksum_fields(PartChecksum.CRC32, bytearray(b"abc"))["ChecksumCRC32"] == (
        base64.b64encode(bytes.fromhex("352441c2")).decode()
    )
