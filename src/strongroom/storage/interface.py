"""The object-store interface every backend (local folder, S3) and the encrypting wrapper
implement. Keys are validated `/`-separated names (see `strongroom.storage.keys`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol


class ObjectNotFound(Exception):
    """The object does not exist."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"object not found: {key!r}")


class ObjectWriter(Protocol):
    """An object being written. Exactly one of `commit` or `abort` ends it."""

    def write(self, data: bytes | memoryview) -> None:
        """Append bytes. `data` may be a view of a buffer the caller reuses: write or copy it
        before returning, never keep a reference."""
        ...

    def commit(self) -> int:
        """Make the object visible atomically (replacing any old one); return its size."""
        ...

    def abort(self) -> None:
        """Discard everything written; nothing is left behind. Safe to call twice."""
        ...


class ObjectStore(Protocol):
    """Stores whole objects, written as a stream and read by byte range.

    Prefixes (`list`, `delete_prefix`) are matched by whole path segments: prefix "a/b"
    matches "a/b" and "a/b/c", never "a/bc". Ranges are half-open, [start, end); `end` is
    clamped to the object's size, and ValueError is raised for start < 0 or end < start."""

    def open_write(self, key: str) -> ObjectWriter: ...

    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        """Write the object from `chunks` and commit it; return its size."""
        ...

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream bytes [start, end). ObjectNotFound is raised by the call itself, not lazily."""
        ...

    def size(self, key: str) -> int: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing object is not an error."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix`; return how many were deleted."""
        ...

    def list(self, prefix: str) -> list[str]:
        """Sorted keys under `prefix` ("" lists everything)."""
        ...


def clamp_range(start: int, end: int | None, size: int) -> tuple[int, int]:
    """Resolve a requested [start, end) against an object of `size` bytes, as every store
    does: `end` defaults to and is clamped to `size`; ValueError for start < 0 or end < start."""
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"invalid byte range [{start}, {end})")
    stop = size if end is None else min(end, size)
    return min(start, stop), stop


class _Sized(Protocol):
    def open_write(self, key: str) -> ObjectWriter: ...

    def size(self, key: str) -> int: ...


class DerivedOperations:
    """`put` and `exists` for every backend, built on its own `open_write` and `size`."""

    def put(self: _Sized, key: str, chunks: Iterable[bytes]) -> int:
        """Write `chunks` as `key` and commit; on any error nothing is left behind."""
        writer = self.open_write(key)
        try:
            for chunk in chunks:
                writer.write(chunk)
            return writer.commit()
        except BaseException:
            # A quiet abort where the backend has one: the original error must come up.
            getattr(writer, "abort_quietly", writer.abort)()
            raise

    def exists(self: _Sized, key: str) -> bool:
        """Whether the object exists."""
        try:
            self.size(key)
        except ObjectNotFound:
            return False
        return True
