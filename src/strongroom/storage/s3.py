"""Objects in a bucket of any S3-compatible server (the cluster profile's backend).

Writes stream: bytes are buffered up to one part, sent as a multipart upload part by part,
and become visible only when the upload completes (an object smaller than one part is one
PutObject). Memory per writer is bounded by about one part, whatever the object's size.
Every part carries a checksum the server verifies before storing it. Reads are HTTP Range
GETs streamed in blocks. Keys are validated before any request is built, and an optional
store prefix keeps one deployment's objects under one folder of a shared bucket.

A writer that is neither committed nor aborted (a killed process) leaves an incomplete
multipart upload behind; operators should set the bucket's AbortIncompleteMultipartUpload
lifecycle rule, which is the only backstop S3 offers for that.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from strongroom.storage.interface import DerivedOperations, ObjectNotFound, clamp_range
from strongroom.storage.keys import InvalidObjectKey, is_valid_key, validate_key, validate_prefix
from strongroom.storage.s3_config import (
    DEFAULT_PART_SIZE,
    MAX_PARTS,
    PartChecksum,
    S3Settings,
    checksum_fields,
    make_client,
    validate_bucket,
    validate_part_size,
)

BLOCK_SIZE = 1 << 20
DELETE_BATCH = 1000  # DeleteObjects accepts at most 1000 keys per request
MAX_PRESIGN = timedelta(days=7)  # SigV4's longest presigned URL lifetime
_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})
_NO_UPLOAD = frozenset({"NoSuchUpload", "404", "NotFound"})
_DENIED = frozenset({"AccessDenied", "403", "SignatureDoesNotMatch", "InvalidAccessKeyId"})
_log = logging.getLogger(__name__)


class StorageError(Exception):
    """An object-store request failed. The message names the operation, bucket and key and
    the server's error code; it never contains credentials, signatures or server paths."""

    def __init__(self, operation: str, bucket: str, key: str, reason: str) -> None:
        self.operation = operation
        self.bucket = bucket
        self.key = key
        self.reason = reason
        super().__init__(f"S3 {operation} failed (bucket {bucket!r}, key {key!r}): {reason}")


def _reason(exc: Exception) -> str:
    # Only the error code and HTTP status are kept: some servers echo the string-to-sign or
    # the access key id in the message, and botocore's own messages may carry the endpoint.
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "unknown"))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        if code in _DENIED:
            return f"access denied, check the S3 credentials and policy ({code}, HTTP {status})"
        return f"{code} (HTTP {status})"
    return f"{type(exc).__name__}: the S3 endpoint could not be used"


def error_code(exc: ClientError) -> str:
    """The S3 error code of a ClientError ("NoSuchKey", "InvalidRange", "404"...)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextlib.contextmanager
def translate_errors(operation: str, bucket: str, key: str) -> Iterator[None]:
    """Turn boto3 failures into ObjectNotFound (missing object) or StorageError."""
    try:
        yield
    except ClientError as exc:
        if error_code(exc) in _NOT_FOUND:
            raise ObjectNotFound(key) from None
        raise StorageError(operation, bucket, key, _reason(exc)) from None
    except BotoCoreError as exc:
        raise StorageError(operation, bucket, key, _reason(exc)) from None


def _part_entry(number: int, etag: str, fields: dict[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"PartNumber": number, "ETag": etag}
    entry.update({k: v for k, v in fields.items() if k.startswith("Checksum")})
    return entry


class S3Writer:
    """Streams one object as a multipart upload; nothing is visible until `commit`."""

    def __init__(self, store: S3Store, key: str, stored_key: str) -> None:
        self._store = store
        self._key = key
        self._stored_key = stored_key
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._size = 0
        self._done = False

    def _target(self) -> dict[str, str]:
        return {"Bucket": self._store.bucket, "Key": self._stored_key}

    def _check_open(self) -> None:
        if self._done:
            raise RuntimeError("the object writer is already closed")

    def write(self, data: bytes | memoryview) -> None:
        """Append bytes; a full part is uploaded as soon as more bytes follow it, so the
        buffer never holds more than one part. If a part cannot be uploaded, the upload is
        aborted, the writer is closed and the error re-raised."""
        self._check_open()
        view = memoryview(data).cast("B")
        size = len(view)
        try:
            self._fill(view)
        except BaseException:
            self.abort_quietly()
            raise
        self._size += size

    def _fill(self, view: memoryview) -> None:
        part_size = self._store.part_size
        while view:
            if len(self._buffer) == part_size:
                self._send_part()
            room = part_size - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]

    def _start_upload(self) -> str:
        extra = self._store.upload_algorithm()
        with translate_errors("CreateMultipartUpload", self._store.bucket, self._key):
            response = self._store.client.create_multipart_upload(**self._target(), **extra)
        return str(response["UploadId"])

    def _send_part(self) -> None:
        if self._upload_id is None:
            self._upload_id = self._start_upload()
        number = len(self._parts) + 1
        if number > MAX_PARTS:
            raise StorageError(
                "UploadPart", self._store.bucket, self._key, "object exceeds 10000 parts"
            )
        # The buffer is handed over rather than copied, so a part exists in memory once.
        body, self._buffer = self._buffer, bytearray()
        fields = checksum_fields(self._store.checksum, body)
        with translate_errors("UploadPart", self._store.bucket, self._key):
            response = self._store.client.upload_part(
                **self._target(), UploadId=self._upload_id, PartNumber=number, Body=body, **fields
            )
        self._parts.append(_part_entry(number, str(response["ETag"]), fields))

    def _finish(self) -> None:
        if self._upload_id is None:
            fields = checksum_fields(self._store.checksum, self._buffer)
            with translate_errors("PutObject", self._store.bucket, self._key):
                self._store.client.put_object(**self._target(), Body=self._buffer, **fields)
            return
        self._send_part()
        with translate_errors("CompleteMultipartUpload", self._store.bucket, self._key):
            self._store.client.complete_multipart_upload(
                **self._target(),
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )

    def commit(self) -> int:
        """Upload what is buffered and complete the object (atomically replacing any old
        one); return its size. On failure the upload is aborted and the error re-raised."""
        self._check_open()
        try:
            self._finish()
        except BaseException:
            self.abort_quietly()
            raise
        self._done = True
        self._buffer = bytearray()
        return self._size

    def abort(self) -> None:
        """Abort the multipart upload so no part is left stored. Safe to call twice, and a
        no-op after `commit`. Raises StorageError if the server refuses the abort."""
        if self._done:
            return
        self._done = True
        self._buffer = bytearray()
        if self._upload_id is None:
            return
        with translate_errors("AbortMultipartUpload", self._store.bucket, self._key):
            try:
                self._store.client.abort_multipart_upload(
                    **self._target(), UploadId=self._upload_id
                )
            except ClientError as exc:
                # Already gone (say, a commit whose reply was lost): what abort wants.
                if error_code(exc) not in _NO_UPLOAD:
                    raise

    def abort_quietly(self) -> None:
        """Abort while another error is on its way up: a failed abort is logged (the
        lifecycle rule reclaims the parts) instead of hiding the original error."""
        try:
            self.abort()
        except StorageError as exc:
            _log.warning("%s; the bucket lifecycle rule must reclaim the parts", exc)


class _BodyBlocks:
    """Iterates an S3 response body in BLOCK_SIZE pieces and closes the connection when
    exhausted, closed, or garbage-collected (an unread body would pin a pooled connection)."""

    def __init__(self, body: Any, bucket: str, key: str) -> None:
        self._body: Any = body
        self._bucket = bucket
        self._key = key

    def __iter__(self) -> _BodyBlocks:
        return self

    def __next__(self) -> bytes:
        if self._body is None:
            raise StopIteration
        try:
            with translate_errors("GetObject", self._bucket, self._key):
                block: bytes = self._body.read(BLOCK_SIZE)
        except BaseException:
            self.close()
            raise
        if not block:
            self.close()
            raise StopIteration
        return block

    def close(self) -> None:
        """Release the connection."""
        if self._body is not None:
            self._body.close()
            self._body = None

    def __del__(self) -> None:
        self.close()


def _range_header(start: int, end: int | None) -> dict[str, str]:
    if start == 0 and end is None:
        return {}  # a plain GET: also the only way to read an empty object
    return {"Range": f"bytes={start}-{'' if end is None else end - 1}"}


class S3Store(DerivedOperations):
    """An ObjectStore keeping each object as one S3 object in `bucket` (under `prefix`)."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        client: Any = None,
        settings: S3Settings | None = None,
        part_size: int = DEFAULT_PART_SIZE,
        checksum: PartChecksum = PartChecksum.SHA256,
    ) -> None:
        """Use `client` (a boto3 S3 client) if given, else one built from `settings` (else
        from boto3's defaults). `prefix` is a valid key prefix ("" for the bucket's root)."""
        self.bucket = validate_bucket(bucket)
        self.prefix = validate_prefix(prefix)
        self.part_size = validate_part_size(part_size)
        self.checksum = checksum
        self.client: Any = client if client is not None else make_client(settings or S3Settings())

    def __repr__(self) -> str:
        return f"S3Store(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def upload_algorithm(self) -> dict[str, str]:
        """The CreateMultipartUpload parameter announcing the parts' checksum algorithm."""
        if self.checksum is PartChecksum.CONTENT_MD5:
            return {}
        return {"ChecksumAlgorithm": self.checksum.value}

    def _stored(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _errors(self, operation: str, key: str) -> contextlib.AbstractContextManager[None]:
        return translate_errors(operation, self.bucket, key)

    def open_write(self, key: str) -> S3Writer:
        """Start writing `key`; nothing is sent until a part is full or `commit`."""
        return S3Writer(self, key, self._stored(key))

    def _get(self, key: str, start: int, end: int | None) -> Any:
        """The GetObject response for [start, end), or None when the object exists but
        `start` is at or past its end (S3 answers 416 where the interface wants b"")."""
        stored = self._stored(key)
        with self._errors("GetObject", key):
            try:
                return self.client.get_object(
                    Bucket=self.bucket, Key=stored, **_range_header(start, end)
                )
            except ClientError as exc:
                if error_code(exc) == "InvalidRange":
                    return None
                raise

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream bytes [start, end) in blocks of at most 1 MiB with one ranged GET."""
        self._stored(key)
        clamp_range(start, end, sys.maxsize)  # only validates; the server clamps `end`
        if end == start:
            self.size(key)  # an empty range still reports a missing object
            return iter(())
        response = self._get(key, start, end)
        if response is None:
            return iter(())
        return _BodyBlocks(response["Body"], self.bucket, key)

    def size(self, key: str) -> int:
        """Size in bytes (one HEAD); ObjectNotFound if missing, StorageError if the bucket
        itself is missing (a second request, made only on the not-found path)."""
        stored = self._stored(key)
        try:
            with self._errors("HeadObject", key):
                response = self.client.head_object(Bucket=self.bucket, Key=stored)
        except ObjectNotFound:
            self._check_bucket(key)
            raise
        return int(response["ContentLength"])

    def _check_bucket(self, key: str) -> None:
        # A HEAD response has no body, so its 404 cannot say whether the key or the bucket
        # is missing; a wrong bucket name must not read as "object not found".
        with self._errors("HeadBucket", key):
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if error_code(exc) not in _NOT_FOUND:
                    raise
                raise StorageError(
                    "HeadBucket", self.bucket, key, "NoSuchBucket (HTTP 404)"
                ) from None

    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing object is not an error."""
        stored = self._stored(key)
        with self._errors("DeleteObject", key):
            self.client.delete_object(Bucket=self.bucket, Key=stored)

    def _page_keys(self, clean: str) -> Iterator[list[str]]:
        """Valid keys (without the store prefix) strictly under the validated prefix
        `clean`, a listing page (at most 1000) at a time."""
        strip = len(self.prefix) + 1 if self.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        with self._errors("ListObjectsV2", clean):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._subtree(clean)):
                names = (item["Key"][strip:] for item in page.get("Contents", ()))
                yield [name for name in names if is_valid_key(name)]

    def _subtree(self, clean: str) -> str:
        joined = "/".join(part for part in (self.prefix, clean) if part)
        return f"{joined}/" if joined else ""

    def _delete_batch(self, keys: list[str]) -> None:
        objects = [{"Key": self._stored(key)} for key in keys]
        with self._errors("DeleteObjects", keys[0]):
            response = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True}
            )
        failed = response.get("Errors") or []
        if failed:
            code = str(failed[0].get("Code", "unknown"))
            reason = f"{len(failed)} of {len(keys)} objects not deleted ({code})"
            raise StorageError("DeleteObjects", self.bucket, keys[0], reason)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object equal to or under `prefix` (not "": that would be all) with
        batched DeleteObjects, one listing page at a time; return how many."""
        clean = validate_prefix(prefix)
        if clean == "":
            raise InvalidObjectKey("refusing to delete with an empty prefix")
        deleted = 0
        for page in self._page_keys(clean):
            for first in range(0, len(page), DELETE_BATCH):
                batch = page[first : first + DELETE_BATCH]
                self._delete_batch(batch)
                deleted += len(batch)
        if self.exists(clean):
            self.delete(clean)
            deleted += 1
        return deleted

    def presign(self, key: str, expires: timedelta) -> str:
        """A SigV4 presigned GET URL for `key`, valid for `expires` (1 s to 7 days). It
        carries the signature, so treat it as a bearer secret; existence is not checked."""
        stored = self._stored(key)
        if not timedelta(seconds=1) <= expires <= MAX_PRESIGN:
            raise ValueError("a presigned URL must expire within 1 second to 7 days")
        with self._errors("presign", key):
            url: str = self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": stored},
                ExpiresIn=int(expires.total_seconds()),
            )
        return url

    def list(self, prefix: str) -> list[str]:
        """Sorted keys equal to or under `prefix` (whole segments: "a/b" never lists "a/bc")."""
        clean = validate_prefix(prefix)
        keys = [key for page in self._page_keys(clean) for key in page]
        if clean and self.exists(clean):
            keys.append(clean)
        return sorted(keys)
