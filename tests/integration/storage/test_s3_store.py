"""What only the S3 backend has: parts and their checksums, the store prefix, presigned URLs,
batched deletes, error mapping, and the encrypting store on top of it (against SeaweedFS)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest

from strongroom.crypto.envelope import CHUNK_SIZE, Keyring, LocalKek
from strongroom.storage.encrypted import EncryptedStore
from strongroom.storage.interface import ObjectNotFound
from strongroom.storage.s3 import S3Store, StorageError
from strongroom.storage.s3_config import MIN_PART_SIZE, PartChecksum, S3Settings
from tests.integration.storage.seaweed import SEAWEED, S3Server, free_ports, leftovers_in_bucket

pytestmark = SEAWEED
PART = MIN_PART_SIZE


@pytest.fixture(scope="module")
def data() -> bytes:
    return secrets.token_bytes(3 * PART + 1234)


def store_like(store: S3Store, **changes: Any) -> S3Store:
    options = {"prefix": store.prefix, "client": store.client, "part_size": store.part_size}
    return S3Store(store.bucket, **{**options, **changes})


def head(store: S3Store, key: str) -> dict[str, Any]:
    response: dict[str, Any] = store.client.head_object(
        Bucket=store.bucket, Key=f"{store.prefix}/{key}", ChecksumMode="ENABLED"
    )
    return response


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@pytest.mark.parametrize(
    ("size", "parts"),
    [(1, 0), (PART - 1, 0), (PART, 0), (PART + 1, 2), (2 * PART, 2), (3 * PART + 1, 4)],
)
def test_an_object_of_one_part_or_less_is_one_put_and_larger_ones_are_multipart(
    s3_store: S3Store, data: bytes, size: int, parts: int
) -> None:
    s3_store.put("obj", [data[:size]])
    checksum = head(s3_store, "obj")["ChecksumSHA256"]
    if parts == 0:
        assert checksum == sha256_b64(data[:size])  # the whole object's own digest
    else:
        assert checksum.endswith(f"-{parts}")  # a composite of the parts' digests
    assert b"".join(s3_store.read("obj")) == data[:size]


def test_each_part_carries_the_sha256_the_server_verified(s3_store: S3Store, data: bytes) -> None:
    s3_store.put("obj", [data[: 2 * PART]])
    digests = b"".join(hashlib.sha256(data[i : i + PART]).digest() for i in (0, PART))
    composite = base64.b64encode(hashlib.sha256(digests).digest()).decode()
    assert head(s3_store, "obj")["ChecksumSHA256"] == f"{composite}-2"


def test_crc32_parts_round_trip(s3_store: S3Store, data: bytes) -> None:
    store = store_like(s3_store, checksum=PartChecksum.CRC32)
    store.put("crc", [data[:100]])
    crc = base64.b64encode(zlib.crc32(data[:100]).to_bytes(4, "big")).decode()
    assert head(store, "crc")["ChecksumCRC32"] == crc
    store.put("crc-mp", [data])
    assert b"".join(store.read("crc-mp")) == data


def test_content_md5_parts_round_trip(s3_store: S3Store, data: bytes) -> None:
    store = store_like(s3_store, checksum=PartChecksum.CONTENT_MD5)
    store.put("md5", [data])
    store.put("md5-small", [data[:10]])
    assert b"".join(store.read("md5")) == data
    assert b"".join(store.read("md5-small")) == data[:10]


def test_aborting_a_multipart_writer_leaves_no_upload_or_part(
    s3_server: S3Server, s3_store: S3Store, data: bytes
) -> None:
    writer = s3_store.open_write("pending")
    writer.write(data)
    uploads = s3_store.client.list_multipart_uploads(
        Bucket=s3_server.bucket, Prefix=s3_store.prefix
    )
    assert [u["Key"] for u in uploads.get("Uploads", [])] == [f"{s3_store.prefix}/pending"]
    writer.abort()
    assert leftovers_in_bucket(s3_store.client, s3_server.bucket, s3_store.prefix) == []


def test_many_small_writes_are_buffered_into_full_parts(s3_store: S3Store, data: bytes) -> None:
    writer = s3_store.open_write("small-writes")
    for first in range(0, len(data), 4096):
        writer.write(data[first : first + 4096])
    assert writer.commit() == len(data)
    assert head(s3_store, "small-writes")["ChecksumSHA256"].endswith("-4")


def test_the_store_prefix_is_where_objects_live_and_other_prefixes_are_invisible(
    s3_store: S3Store,
) -> None:
    s3_store.put("k", [b"mine"])
    other = store_like(s3_store, prefix=f"{s3_store.prefix}-other")
    nested = store_like(s3_store, prefix=f"{s3_store.prefix}/k")
    assert (
        b"".join(
            s3_store.client.get_object(Bucket=s3_store.bucket, Key=f"{s3_store.prefix}/k")["Body"]
        )
        == b"mine"
    )
    assert other.list("") == []
    assert not other.exists("k")
    assert other.delete_prefix("k") == 0
    assert nested.list("") == []
    assert s3_store.list("") == ["k"]


def test_delete_prefix_pages_and_batches_past_a_thousand_objects(s3_store: S3Store) -> None:
    keys = [f"many/{i:04d}" for i in range(1003)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: s3_store.put(key, [b"."]), keys))
    s3_store.put("many-not", [b"."])
    assert s3_store.list("many") == keys
    assert s3_store.delete_prefix("many") == 1003
    assert s3_store.list("") == ["many-not"]


def test_an_object_and_a_prefix_of_the_same_name_are_both_listed_and_deleted(
    s3_store: S3Store,
) -> None:
    s3_store.put("a/b", [b"1"])
    s3_store.put("a/b/c", [b"2"])
    assert s3_store.list("a/b") == ["a/b", "a/b/c"]
    assert s3_store.delete_prefix("a/b") == 2
    assert s3_store.list("") == []


def test_keys_written_by_others_that_are_not_valid_keys_are_not_listed(s3_store: S3Store) -> None:
    s3_store.client.put_object(Bucket=s3_store.bucket, Key=f"{s3_store.prefix}/bad key", Body=b"x")
    s3_store.put("good", [b"x"])
    assert s3_store.list("") == ["good"]


def test_a_presigned_url_serves_the_object_until_it_expires(s3_store: S3Store) -> None:
    s3_store.put("shared/clip.mp4", [b"video bytes"])
    url = s3_store.presign("shared/clip.mp4", timedelta(minutes=5))
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url
    assert "X-Amz-Expires=300" in url
    assert httpx.get(url).content == b"video bytes"
    assert httpx.get(url, headers={"Range": "bytes=6-10"}).content == b"bytes"
    tampered = url.replace("shared/clip.mp4", "shared/other.mp4")
    assert httpx.get(tampered).status_code == 403


@pytest.mark.parametrize("expires", [timedelta(0), timedelta(seconds=-5), timedelta(days=8)])
def test_presign_refuses_lifetimes_s3_cannot_honour(s3_store: S3Store, expires: timedelta) -> None:
    with pytest.raises(ValueError, match="expire"):
        s3_store.presign("k", expires)


def test_wrong_credentials_give_a_clear_error_without_secrets(s3_server: S3Server) -> None:
    wrong_secret = "WRONG-" + secrets.token_urlsafe(24)
    settings = S3Settings(
        endpoint_url=s3_server.settings.endpoint_url,
        access_key_id=s3_server.settings.access_key_id,
        secret_access_key=wrong_secret,
        max_attempts=1,
    )
    store = S3Store(s3_server.bucket, prefix="creds", settings=settings)
    attempts: list[Callable[[], object]] = [
        lambda: store.put("k", [b"x"]),
        lambda: store.size("k"),
        lambda: store.list(""),
    ]
    for attempt in attempts:
        with pytest.raises(StorageError) as info:
            attempt()
        text = f"{info.value} {info.value!r} {info.value.__cause__!r}"
        assert "access denied" in str(info.value)
        assert s3_server.bucket in str(info.value)
        assert wrong_secret not in text
        assert str(s3_server.settings.secret_access_key) not in text
        assert str(s3_server.settings.access_key_id) not in text
    assert repr(store) == f"S3Store(bucket={s3_server.bucket!r}, prefix='creds')"
    assert wrong_secret not in repr(settings)


def test_a_missing_bucket_is_a_storage_error_not_a_missing_object(s3_server: S3Server) -> None:
    store = S3Store("no-such-bucket-here", settings=s3_server.settings)
    with pytest.raises(StorageError, match="no-such-bucket-here") as info:
        store.size("k")
    assert not isinstance(info.value, ObjectNotFound)
    # (not a put: SeaweedFS creates a missing bucket on PutObject for an admin identity)
    with pytest.raises(StorageError, match="NoSuchBucket"):
        store.read("k")
    with pytest.raises(StorageError, match="NoSuchBucket"):
        store.list("")


def test_an_unreachable_endpoint_is_a_storage_error_naming_bucket_and_key() -> None:
    (port,) = free_ports(1)
    settings = S3Settings(
        endpoint_url=f"http://127.0.0.1:{port}",
        access_key_id="AKIDEXAMPLE",
        secret_access_key="not-a-real-secret",
        max_attempts=1,
        connect_timeout=2,
    )
    store = S3Store("some-bucket", settings=settings)
    with pytest.raises(StorageError) as info:
        store.read("tasks/1/out.mp4")
    message = str(info.value)
    assert "'some-bucket'" in message
    assert "'tasks/1/out.mp4'" in message
    assert "not-a-real-secret" not in message
    assert str(port) not in message  # the endpoint is configuration, not user-facing text


@pytest.fixture
def encrypted(s3_store: S3Store) -> EncryptedStore:
    return EncryptedStore(s3_store, Keyring(LocalKek("kek-1", secrets.token_bytes(32))))


def raw_object(store: S3Store, key: str) -> bytes:
    body = store.client.get_object(Bucket=store.bucket, Key=f"{store.prefix}/{key}")["Body"]
    return bytes(body.read())


def test_the_encrypting_store_over_s3_stores_no_plaintext(
    encrypted: EncryptedStore, s3_store: S3Store
) -> None:
    marker = b"\x00\x00\x00\x18ftypisom-MEDIA-SIGNATURE" * 300_000  # several parts' worth
    assert encrypted.put("clip.mp4", [marker]) == len(marker)
    raw = raw_object(s3_store, "clip.mp4")
    assert raw.startswith(b"SRE1")
    assert b"ftyp" not in raw
    assert b"MEDIA-SIGNATURE" not in raw
    assert len(raw) > len(marker)
    assert b"".join(encrypted.read("clip.mp4")) == marker


def test_the_encrypting_store_over_s3_decrypts_ranges(
    encrypted: EncryptedStore, data: bytes
) -> None:
    encrypted.put("obj", [data])
    size = len(data)
    edges = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE + 1, PART - 7, PART + 7, 3 * PART, size - 1, size]
    for start, end in [(a, b) for a in edges for b in edges if b >= a][::3]:
        assert b"".join(encrypted.read("obj", start, end)) == data[start:end], (start, end)
    assert encrypted.size("obj") == size


def test_the_encrypting_store_over_s3_aborts_cleanly(
    s3_server: S3Server, encrypted: EncryptedStore, s3_store: S3Store, data: bytes
) -> None:
    def chunks() -> Iterator[bytes]:
        yield data
        raise OSError("upload interrupted")

    with pytest.raises(OSError, match="interrupted"):
        encrypted.put("k", chunks())
    assert leftovers_in_bucket(s3_store.client, s3_server.bucket, s3_store.prefix) == []
