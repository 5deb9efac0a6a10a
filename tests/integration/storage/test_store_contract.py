"""The ObjectStore contract, run against every backend: the local folder and S3 (SeaweedFS).

Each backend comes with a way to see what is physically stored (files on disk; objects and
pending multipart uploads in the bucket), so "nothing is left behind" is checked for real.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from strongroom.storage.interface import ObjectNotFound, ObjectStore
from strongroom.storage.keys import InvalidObjectKey
from strongroom.storage.local import LocalStore
from strongroom.storage.s3 import S3Store
from strongroom.storage.s3_config import MIN_PART_SIZE
from tests.integration.storage.seaweed import SEAWEED, S3Server, leftovers_in_bucket

BLOCK = 1 << 20
PART = MIN_PART_SIZE  # the S3 store under test uses the smallest part S3 allows


@dataclass(frozen=True)
class Subject:
    """A store, and what is physically stored under it (objects and anything pending)."""

    store: ObjectStore
    stored: Callable[[], list[str]]


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture(params=["local", pytest.param("s3", marks=SEAWEED)])
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
    if request.param == "local":
        root = tmp_path / "objects"
        return Subject(LocalStore(root), lambda: files_under(root))
    server: S3Server = request.getfixturevalue("s3_server")
    store: S3Store = request.getfixturevalue("s3_store")
    client = request.getfixturevalue("s3_client")
    return Subject(store, lambda: leftovers_in_bucket(client, server.bucket, store.prefix))


@pytest.fixture
def store(subject: Subject) -> ObjectStore:
    return subject.store


@pytest.fixture(scope="module")
def data() -> bytes:
    return secrets.token_bytes(2 * PART + 3 * BLOCK)


def read_all(store: ObjectStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(store.read(key, start, end))


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    for first in range(0, len(data), size):
        yield data[first : first + size]


@pytest.mark.parametrize(
    "size",
    [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, PART - 1, PART, PART + 1, 2 * PART, 2 * PART + 3 * BLOCK],
)
def test_round_trips_of_many_sizes(store: ObjectStore, data: bytes, size: int) -> None:
    assert store.put("obj/sized", pieces(data[:size], 700_001)) == size
    assert store.size("obj/sized") == size
    assert read_all(store, "obj/sized") == data[:size]


def test_one_write_larger_than_several_parts_round_trips(store: ObjectStore, data: bytes) -> None:
    assert store.put("whole", [data]) == len(data)
    assert read_all(store, "whole") == data


def test_reads_stream_in_blocks_of_at_most_one_mib(store: ObjectStore, data: bytes) -> None:
    store.put("big", [data[: 2 * BLOCK + 10]])
    blocks = list(store.read("big"))
    assert max(len(block) for block in blocks) <= BLOCK
    assert b"".join(blocks) == data[: 2 * BLOCK + 10]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, None, b"0123456789"),
        (2, 5, b"234"),
        (8, 100, b"89"),
        (0, 1, b"0"),
        (9, 10, b"9"),
        (4, 4, b""),
        (10, None, b""),
        (20, 30, b""),
    ],
)
def test_ranges_are_half_open_and_clamped(
    store: ObjectStore, start: int, end: int | None, expected: bytes
) -> None:
    store.put("r", [b"0123456789"])
    assert read_all(store, "r", start, end) == expected


def test_ranges_across_part_boundaries_match_slices(store: ObjectStore, data: bytes) -> None:
    store.put("parts", pieces(data, 1_000_003))
    for start, end in [(PART - 5, PART + 5), (BLOCK - 1, 2 * PART + 1), (2 * PART, None)]:
        assert read_all(store, "parts", start, end) == data[start:end]


def test_an_empty_object_reads_as_empty_at_any_range(store: ObjectStore) -> None:
    store.put("empty", [])
    assert read_all(store, "empty") == b""
    assert read_all(store, "empty", 0, 10) == b""
    assert store.size("empty") == 0


@pytest.mark.parametrize(("start", "end"), [(-1, None), (5, 4), (-3, -1)])
def test_invalid_ranges_are_refused(store: ObjectStore, start: int, end: int | None) -> None:
    store.put("r", [b"0123456789"])
    with pytest.raises(ValueError, match="range"):
        store.read("r", start, end)


def test_missing_objects_raise_when_read_is_called(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        store.read("missing")
    with pytest.raises(ObjectNotFound):
        store.read("missing", 3, 3)
    with pytest.raises(ObjectNotFound):
        store.read("missing", 5, 10)
    with pytest.raises(ObjectNotFound):
        store.size("missing")
    assert not store.exists("missing")


def test_a_prefix_folder_is_not_an_object(store: ObjectStore) -> None:
    store.put("dir/file", [b"x"])
    with pytest.raises(ObjectNotFound):
        store.read("dir")
    assert not store.exists("dir")
    with pytest.raises(ObjectNotFound):
        store.size("dir/file/deeper")


def test_nothing_is_visible_before_commit_and_nothing_is_left_after_abort(
    subject: Subject, data: bytes
) -> None:
    writer = subject.store.open_write("x/y")
    writer.write(data)  # more than two parts: S3 has started a multipart upload by now
    assert not subject.store.exists("x/y")
    assert subject.store.list("") == []
    writer.abort()
    writer.abort()
    assert subject.stored() == []


def test_a_failing_put_leaves_nothing_behind(subject: Subject, data: bytes) -> None:
    def chunks() -> Iterator[bytes]:
        yield data
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError, match="source broke"):
        subject.store.put("x", chunks())
    assert subject.stored() == []


def test_commit_replaces_an_existing_object_atomically(store: ObjectStore, data: bytes) -> None:
    store.put("k", [b"old"])
    writer = store.open_write("k")
    writer.write(data)
    assert read_all(store, "k") == b"old"
    assert writer.commit() == len(data)
    assert read_all(store, "k") == data


def test_a_writer_cannot_be_used_after_commit(store: ObjectStore) -> None:
    writer = store.open_write("k")
    writer.commit()
    writer.abort()  # a no-op once committed
    with pytest.raises(RuntimeError):
        writer.write(b"late")
    with pytest.raises(RuntimeError):
        writer.commit()
    assert store.size("k") == 0


def test_a_writer_cannot_be_used_after_abort(store: ObjectStore) -> None:
    writer = store.open_write("k")
    writer.write(b"x")
    writer.abort()
    with pytest.raises(RuntimeError):
        writer.write(b"late")
    with pytest.raises(RuntimeError):
        writer.commit()
    assert not store.exists("k")


def test_list_matches_whole_segments(store: ObjectStore) -> None:
    for key in ("a/b/c", "a/b/d/e", "a/bc", "z"):
        store.put(key, [b"."])
    pending = store.open_write("a/b/pending")
    pending.write(b"not yet")
    assert store.list("a/b") == ["a/b/c", "a/b/d/e"]
    assert store.list("a/b/") == ["a/b/c", "a/b/d/e"]
    assert store.list("") == ["a/b/c", "a/b/d/e", "a/bc", "z"]
    assert store.list("a/bc") == ["a/bc"]
    assert store.list("nothing") == []
    pending.abort()


def test_delete_is_idempotent(subject: Subject) -> None:
    subject.store.put("p/q/r", [b"x"])
    subject.store.delete("p/q/r")
    subject.store.delete("p/q/r")
    subject.store.delete("never/existed")
    assert not subject.store.exists("p/q/r")
    assert subject.stored() == []


def test_delete_does_not_reach_objects_under_the_key(store: ObjectStore) -> None:
    store.put("d/x", [b"1"])
    store.delete("d")
    assert store.list("d") == ["d/x"]


def test_delete_prefix_removes_a_subtree_only(store: ObjectStore) -> None:
    for key in ("t/1/a", "t/1/b/c", "t/10/a", "t/1x"):
        store.put(key, [b"."])
    assert store.delete_prefix("t/1") == 2
    assert store.list("t") == ["t/10/a", "t/1x"]
    assert store.delete_prefix("t/1") == 0
    assert store.delete_prefix("t/1x/") == 1
    assert store.list("t") == ["t/10/a"]


@pytest.mark.parametrize("prefix", ["", "/", "../"])
def test_delete_prefix_refuses_to_delete_everything(store: ObjectStore, prefix: str) -> None:
    store.put("keep", [b"x"])
    with pytest.raises(InvalidObjectKey):
        store.delete_prefix(prefix)
    assert store.list("") == ["keep"]


@pytest.mark.parametrize(
    "key", ["../x", "/abs", "a//b", "a/./b", "a\x00b", "..", "a/../../x", "a b", "a?b=c", "%2e%2e"]
)
def test_bad_keys_are_refused_before_anything_is_stored(subject: Subject, key: str) -> None:
    store = subject.store
    with pytest.raises(InvalidObjectKey):
        store.put(key, [b"x"])
    with pytest.raises(InvalidObjectKey):
        store.open_write(key)
    with pytest.raises(InvalidObjectKey):
        store.read(key)
    with pytest.raises(InvalidObjectKey):
        store.size(key)
    with pytest.raises(InvalidObjectKey):
        store.delete(key)
    with pytest.raises(InvalidObjectKey):
        store.list(key)
    assert subject.stored() == []
