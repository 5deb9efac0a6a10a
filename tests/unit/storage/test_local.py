"""The local folder backend."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.storage.interface import ObjectNotFound
from strongroom.storage.keys import InvalidObjectKey
from strongroom.storage.local import BLOCK_SIZE, LocalStore


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "objects")


def all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_put_then_read_round_trips(store: LocalStore) -> None:
    assert store.put("a/b/c.bin", [b"hello ", b"world"]) == 11
    assert b"".join(store.read("a/b/c.bin")) == b"hello world"
    assert store.size("a/b/c.bin") == 11
    assert store.exists("a/b/c.bin")


def test_files_are_0600_and_folders_0700(store: LocalStore, tmp_path: Path) -> None:
    old_umask = os.umask(0)
    try:
        store.put("deep/er/file", [b"x"])
    finally:
        os.umask(old_umask)
    root = tmp_path / "objects"
    assert stat.S_IMODE((root / "deep/er/file").stat().st_mode) == 0o600
    assert stat.S_IMODE((root / "deep").stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "deep/er").stat().st_mode) == 0o700


def test_reads_stream_in_blocks_of_at_most_one_mib(store: LocalStore) -> None:
    data = os.urandom(2 * BLOCK_SIZE + 10)
    store.put("big", [data])
    blocks = list(store.read("big"))
    assert [len(b) for b in blocks] == [BLOCK_SIZE, BLOCK_SIZE, 10]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [(0, None, b"0123456789"), (2, 5, b"234"), (8, 100, b"89"), (10, None, b""), (20, 30, b"")],
)
def test_ranges_are_half_open_and_clamped(
    store: LocalStore, start: int, end: int | None, expected: bytes
) -> None:
    store.put("r", [b"0123456789"])
    assert b"".join(store.read("r", start, end)) == expected


@pytest.mark.parametrize(("start", "end"), [(-1, None), (5, 4)])
def test_invalid_ranges_are_refused(store: LocalStore, start: int, end: int | None) -> None:
    store.put("r", [b"0123456789"])
    with pytest.raises(ValueError, match="range"):
        store.read("r", start, end)


def test_missing_objects_raise_when_read_is_called(store: LocalStore) -> None:
    with pytest.raises(ObjectNotFound):
        store.read("missing")
    with pytest.raises(ObjectNotFound):
        store.size("missing")
    assert not store.exists("missing")


def test_a_prefix_folder_is_not_an_object(store: LocalStore) -> None:
    store.put("dir/file", [b"x"])
    with pytest.raises(ObjectNotFound):
        store.read("dir")
    assert not store.exists("dir")
    with pytest.raises(ObjectNotFound):
        store.size("dir/file/deeper")


def test_nothing_is_visible_before_commit_and_nothing_is_left_after_abort(
    store: LocalStore, tmp_path: Path
) -> None:
    writer = store.open_write("x/y")
    writer.write(b"partial")
    assert not store.exists("x/y")
    assert store.list("") == []
    writer.abort()
    writer.abort()
    assert all_files(tmp_path / "objects") == []


def test_a_failing_put_leaves_nothing_behind(store: LocalStore, tmp_path: Path) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"first"
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError):
        store.put("x", chunks())
    assert all_files(tmp_path / "objects") == []


def test_commit_replaces_an_existing_object_atomically(store: LocalStore) -> None:
    store.put("k", [b"old"])
    writer = store.open_write("k")
    writer.write(b"new")
    assert b"".join(store.read("k")) == b"old"
    writer.commit()
    assert b"".join(store.read("k")) == b"new"


def test_a_writer_cannot_be_used_after_commit(store: LocalStore) -> None:
    writer = store.open_write("k")
    writer.commit()
    with pytest.raises(RuntimeError):
        writer.write(b"late")
    with pytest.raises(RuntimeError):
        writer.commit()


def test_an_open_reader_keeps_the_old_version(store: LocalStore) -> None:
    store.put("k", [b"A" * (BLOCK_SIZE + 1)])
    reader = store.read("k")
    store.put("k", [b"B"])
    assert b"".join(reader) == b"A" * (BLOCK_SIZE + 1)


def test_list_matches_whole_segments_and_skips_temp_files(store: LocalStore) -> None:
    for key in ("a/b", "a/bc", "a/b/c", "a/b/d/e", "z"):
        if key != "a/b":
            store.put(key, [b"."])
    pending = store.open_write("a/b/pending")
    assert store.list("a/b") == ["a/b/c", "a/b/d/e"]
    assert store.list("a/b/") == ["a/b/c", "a/b/d/e"]
    assert store.list("") == ["a/b/c", "a/b/d/e", "a/bc", "z"]
    assert store.list("a/bc") == ["a/bc"]
    assert store.list("nothing") == []
    pending.abort()


def test_delete_is_idempotent_and_prunes_empty_folders(store: LocalStore, tmp_path: Path) -> None:
    store.put("p/q/r", [b"x"])
    store.delete("p/q/r")
    store.delete("p/q/r")
    store.delete("never/existed")
    assert not (tmp_path / "objects" / "p").exists()
    assert (tmp_path / "objects").is_dir()


def test_delete_prefix_removes_a_subtree_only(store: LocalStore) -> None:
    for key in ("t/1/a", "t/1/b/c", "t/10/a", "t/1x"):
        store.put(key, [b"."])
    assert store.delete_prefix("t/1") == 2
    assert store.list("t") == ["t/10/a", "t/1x"]
    assert store.delete_prefix("t/1") == 0


def test_delete_prefix_refuses_to_delete_everything(store: LocalStore) -> None:
    with pytest.raises(InvalidObjectKey):
        store.delete_prefix("")


@pytest.mark.parametrize("key", ["../x", "/abs", "a//b", "a/./b", "a\x00b", "..", "a/../../x"])
def test_bad_keys_are_refused_before_touching_disk(
    store: LocalStore, tmp_path: Path, key: str
) -> None:
    with pytest.raises(InvalidObjectKey):
        store.put(key, [b"x"])
    with pytest.raises(InvalidObjectKey):
        store.read(key)
    with pytest.raises(InvalidObjectKey):
        store.delete(key)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["objects"]
    assert all_files(tmp_path / "objects") == []


def test_symlinks_are_not_followed(store: LocalStore, tmp_path: Path) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("outside the store")
    (tmp_path / "objects" / "link").symlink_to(secret)
    (tmp_path / "objects" / "dirlink").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(ObjectNotFound):
        store.read("link")
    assert not store.exists("link")
    assert store.list("") == []
    assert store.list("dirlink") == []


def test_a_key_cannot_collide_with_an_existing_object_or_prefix(store: LocalStore) -> None:
    store.put("a/b", [b"x"])
    with pytest.raises(InvalidObjectKey):
        store.put("a/b/c", [b"y"])
    with pytest.raises(InvalidObjectKey):
        store.put("a", [b"y"])
