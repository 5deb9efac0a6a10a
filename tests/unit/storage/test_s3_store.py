"""S3Store without a server: what is refused before any request, how parts are cut, and how
boto3 errors are translated. The client here is a stand-in that records calls (or refuses
every call); the real server is exercised in tests/integration/storage."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from strongroom.storage.interface import ObjectNotFound
from strongroom.storage.keys import InvalidObjectKey
from strongroom.storage.s3 import S3Store, StorageError, translate_errors
from strongroom.storage.s3_config import (
    MIN_PART_SIZE,
    InvalidS3Settings,
    PartChecksum,
    S3Settings,
    checksum_fields,
    make_client,
)

PART = MIN_PART_SIZE


class RefusingClient:
    """Fails the test if the store makes any request."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected S3 request: {name}")


class RecordingClient:
    """Accepts uploads and records them, as a server would see them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def create_multipart_upload(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("create", params))
        return {"UploadId": "upload-1"}

    def upload_part(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("part", params))
        return {"ETag": f'"etag-{params["PartNumber"]}"'}

    def complete_multipart_upload(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("complete", params))
        return {}

    def put_object(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("put", params))
        return {}

    def abort_multipart_upload(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("abort", params))
        return {}

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def part_sizes(self) -> list[int]:
        return [len(params["Body"]) for name, params in self.calls if name == "part"]


def client_error(code: str, status: int, message: str = "") -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "GetObject")


@pytest.fixture
def refusing() -> S3Store:
    return S3Store("media", prefix="deploy-1", client=RefusingClient())


@pytest.fixture
def recording() -> RecordingClient:
    return RecordingClient()


@pytest.fixture
def store(recording: RecordingClient) -> S3Store:
    return S3Store("media", prefix="deploy-1", client=recording, part_size=PART)


@pytest.mark.parametrize("key", ["../x", "/abs", "a//b", "a/./b", "a\x00b", "..", "a b", "k?x=1"])
def test_bad_keys_are_refused_before_any_request(refusing: S3Store, key: str) -> None:
    attempts: list[Callable[[], object]] = [
        lambda: refusing.open_write(key),
        lambda: refusing.put(key, [b"x"]),
        lambda: refusing.read(key),
        lambda: refusing.size(key),
        lambda: refusing.exists(key),
        lambda: refusing.delete(key),
        lambda: refusing.list(key),
        lambda: refusing.delete_prefix(key),
        lambda: refusing.presign(key, timedelta(minutes=1)),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidObjectKey):
            attempt()


@pytest.mark.parametrize(("start", "end"), [(-1, None), (5, 4), (-2, -1)])
def test_bad_ranges_are_refused_before_any_request(
    refusing: S3Store, start: int, end: int | None
) -> None:
    with pytest.raises(ValueError, match="range"):
        refusing.read("k", start, end)


@pytest.mark.parametrize("prefix", ["", "/"])
def test_delete_prefix_refuses_the_whole_store(refusing: S3Store, prefix: str) -> None:
    with pytest.raises(InvalidObjectKey):
        refusing.delete_prefix(prefix)


@pytest.mark.parametrize("prefix", ["../up", "/root", "a//b", "a b"])
def test_the_store_prefix_must_be_a_valid_key_prefix(prefix: str) -> None:
    with pytest.raises(InvalidObjectKey):
        S3Store("media", prefix=prefix, client=RefusingClient())


@pytest.mark.parametrize(("bucket", "part_size"), [("A_BAD", PART), ("media", PART - 1)])
def test_the_bucket_and_part_size_are_checked_up_front(bucket: str, part_size: int) -> None:
    with pytest.raises(InvalidS3Settings):
        S3Store(bucket, client=RefusingClient(), part_size=part_size)


def test_a_store_prefix_ending_in_a_slash_is_normalised(recording: RecordingClient) -> None:
    store = S3Store("media", prefix="deploy-1/", client=recording)
    store.put("a/b", [b"x"])
    assert recording.calls[0][1]["Key"] == "deploy-1/a/b"


def test_an_object_up_to_one_part_is_a_single_checksummed_put(
    store: S3Store, recording: RecordingClient
) -> None:
    data = secrets.token_bytes(PART)
    assert store.put("k", [data[:10], data[10:]]) == PART
    ((name, params),) = recording.calls
    assert name == "put"
    assert (params["Bucket"], params["Key"], bytes(params["Body"])) == ("media", "deploy-1/k", data)
    assert params["ChecksumSHA256"] == checksum_fields(PartChecksum.SHA256, data)["ChecksumSHA256"]


def test_nothing_is_sent_before_a_part_is_full_and_more_follows(
    store: S3Store, recording: RecordingClient
) -> None:
    writer = store.open_write("k")
    writer.write(b"x" * PART)
    assert recording.calls == []
    writer.write(b"y")
    assert recording.names() == ["create", "part"]
    writer.abort()


@pytest.mark.parametrize(
    ("writes", "sizes"),
    [
        ([PART + 1], [PART, 1]),
        ([2 * PART], [PART, PART]),
        ([3 * PART + 5], [PART, PART, PART, 5]),
        ([1000] * 10_487, [PART, PART, 10_487_000 - 2 * PART]),
    ],
)
def test_parts_are_exactly_the_part_size_except_the_last(
    store: S3Store, recording: RecordingClient, writes: list[int], sizes: list[int]
) -> None:
    writer = store.open_write("k")
    for size in writes:
        writer.write(b"z" * size)
    assert writer.commit() == sum(writes)
    assert recording.part_sizes() == sizes
    complete = recording.calls[-1][1]
    parts = complete["MultipartUpload"]["Parts"]
    assert [p["PartNumber"] for p in parts] == list(range(1, len(sizes) + 1))
    assert all(p["ChecksumSHA256"] for p in parts)
    assert recording.calls[0][1]["ChecksumAlgorithm"] == "SHA256"


def test_content_md5_mode_announces_no_flexible_checksum(recording: RecordingClient) -> None:
    store = S3Store("media", client=recording, checksum=PartChecksum.CONTENT_MD5)
    writer = store.open_write("k")
    writer.write(b"m" * (store.part_size + 1))
    writer.commit()
    create, part, _, complete = recording.calls
    assert "ChecksumAlgorithm" not in create[1]
    assert "ContentMD5" in part[1]
    assert "ChecksumSHA256" not in part[1]
    assert set(complete[1]["MultipartUpload"]["Parts"][0]) == {"PartNumber", "ETag"}


def test_abort_after_parts_aborts_the_upload_once(
    store: S3Store, recording: RecordingClient
) -> None:
    writer = store.open_write("k")
    writer.write(b"a" * (PART + 1))
    writer.abort()
    writer.abort()
    assert recording.names() == ["create", "part", "abort"]
    assert recording.calls[-1][1]["UploadId"] == "upload-1"


def test_a_failed_commit_aborts_and_re_raises() -> None:
    class FailingComplete(RecordingClient):
        def complete_multipart_upload(self, **_params: Any) -> dict[str, Any]:
            raise client_error("InternalError", 500)

    client = FailingComplete()
    writer = S3Store("media", client=client, part_size=PART).open_write("k")
    writer.write(b"a" * (PART + 1))
    with pytest.raises(StorageError, match="InternalError"):
        writer.commit()
    assert client.names() == ["create", "part", "part", "abort"]


def test_a_failed_part_upload_aborts_and_closes_the_writer() -> None:
    class FailingSecondPart(RecordingClient):
        def upload_part(self, **params: Any) -> dict[str, Any]:
            if params["PartNumber"] == 2:
                raise client_error("InternalError", 500)
            return super().upload_part(**params)

    client = FailingSecondPart()
    writer = S3Store("media", client=client, part_size=PART).open_write("k")
    with pytest.raises(StorageError, match="UploadPart"):
        writer.write(b"a" * (2 * PART + 1))
    assert client.names() == ["create", "part", "abort"]
    with pytest.raises(RuntimeError):
        writer.write(b"more")
    with pytest.raises(RuntimeError):
        writer.commit()
    writer.abort()
    assert client.names() == ["create", "part", "abort"]


@pytest.mark.parametrize("code", ["NoSuchUpload", "404"])
def test_aborting_an_upload_that_is_already_gone_is_fine(code: str) -> None:
    class GoneUpload(RecordingClient):
        def abort_multipart_upload(self, **_params: Any) -> dict[str, Any]:
            raise client_error(code, 404)

    writer = S3Store("media", client=GoneUpload(), part_size=PART).open_write("k")
    writer.write(b"a" * (PART + 1))
    writer.abort()


def test_a_refused_abort_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    class RefusedAbort(RecordingClient):
        def abort_multipart_upload(self, **_params: Any) -> dict[str, Any]:
            raise client_error("AccessDenied", 403)

    store = S3Store("media", client=RefusedAbort(), part_size=PART)
    writer = store.open_write("k")
    writer.write(b"a" * (PART + 1))
    with pytest.raises(StorageError, match="AbortMultipartUpload"):
        writer.abort()

    def broken_source() -> Iterator[bytes]:
        yield b"b" * (PART + 1)
        raise OSError("source broke")

    with pytest.raises(OSError, match="source broke"):
        store.put("k", broken_source())  # the original error wins over the failed abort
    assert "lifecycle rule" in caplog.text


def test_presign_builds_a_sigv4_url_for_the_prefixed_key() -> None:
    client = make_client(
        S3Settings(endpoint_url="https://s3.example", access_key_id="AKID", secret_access_key="s")
    )
    store = S3Store("media", prefix="deploy-1", client=client)
    url = store.presign("tasks/1/out.mp4", timedelta(hours=1))
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.path == "/media/deploy-1/tasks/1/out.mp4"
    assert query["X-Amz-Expires"] == ["3600"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]


@pytest.mark.parametrize(
    "expires", [timedelta(0), timedelta(milliseconds=500), timedelta(days=7, seconds=1)]
)
def test_presign_refuses_out_of_range_lifetimes(refusing: S3Store, expires: timedelta) -> None:
    with pytest.raises(ValueError, match="expire"):
        refusing.presign("k", expires)


@pytest.mark.parametrize("code", ["NoSuchKey", "404", "NotFound"])
def test_missing_objects_become_object_not_found(code: str) -> None:
    with pytest.raises(ObjectNotFound) as info, translate_errors("GetObject", "media", "a/b"):
        raise client_error(code, 404)
    assert info.value.key == "a/b"


@pytest.mark.parametrize("code", ["AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId"])
def test_denied_requests_point_at_the_credentials_without_echoing_the_server(code: str) -> None:
    echoed = "StringToSign AWS4-HMAC-SHA256 AKIDEXAMPLE/20250101/us-east-1/s3/aws4_request"
    with pytest.raises(StorageError) as info, translate_errors("PutObject", "media", "a/b"):
        raise client_error(code, 403, echoed)
    message = str(info.value)
    assert "access denied" in message
    assert "'media'" in message
    assert "'a/b'" in message
    assert "AKIDEXAMPLE" not in message
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_other_server_errors_keep_their_code_and_status() -> None:
    with pytest.raises(StorageError) as info, translate_errors("UploadPart", "media", "k"):
        raise client_error("SlowDown", 503, "please reduce your request rate")
    assert str(info.value) == "S3 UploadPart failed (bucket 'media', key 'k'): SlowDown (HTTP 503)"
    assert (info.value.operation, info.value.bucket, info.value.key) == ("UploadPart", "media", "k")


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://user:pa55word@s3.internal:9000/media"),
        ReadTimeoutError(endpoint_url="https://user:pa55word@s3.internal:9000/media"),
    ],
)
def test_transport_errors_do_not_reveal_the_endpoint(error: Exception) -> None:
    with pytest.raises(StorageError) as info, translate_errors("GetObject", "media", "k"):
        raise error
    assert "pa55word" not in str(info.value)
    assert "s3.internal" not in str(info.value)
    assert type(error).__name__ in str(info.value)
