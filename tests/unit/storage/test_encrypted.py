"""The encrypting store: plaintext semantics above, only ciphertext below."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.crypto.envelope import (
    CHUNK_SIZE,
    TAG_SIZE,
    DecryptionError,
    Keyring,
    KeyUnavailableError,
    LocalKek,
    parse_header,
)
from strongroom.storage.encrypted import EncryptedStore
from strongroom.storage.interface import ObjectNotFound
from strongroom.storage.keys import InvalidObjectKey
from strongroom.storage.local import LocalStore

STRIDE = CHUNK_SIZE + TAG_SIZE


class CountingStore(LocalStore):
    """A LocalStore that records the byte ranges read from it."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.ranges: list[tuple[int, int | None]] = []

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        self.ranges.append((start, end))
        return super().read(key, start, end)


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(LocalKek("kek-1", secrets.token_bytes(32)))


@pytest.fixture
def backend(tmp_path: Path) -> CountingStore:
    return CountingStore(tmp_path / "raw")


@pytest.fixture
def store(backend: CountingStore, keyring: Keyring) -> EncryptedStore:
    return EncryptedStore(backend, keyring)


@pytest.fixture(scope="module")
def big() -> bytes:
    return secrets.token_bytes(3 * CHUNK_SIZE + 12345)


def raw_path(tmp_path: Path, key: str) -> Path:
    return tmp_path / "raw" / key


def read_all(store: EncryptedStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(store.read(key, start, end))


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 12345]
)
def test_round_trips_of_many_sizes(store: EncryptedStore, big: bytes, size: int) -> None:
    data = big[:size]
    pieces = [data[i : i + 400_000] for i in range(0, size, 400_000)]
    assert store.put("obj", pieces) == size
    assert store.size("obj") == size
    assert read_all(store, "obj") == data


def test_random_ranges_match_plaintext_slices(store: EncryptedStore, big: bytes) -> None:
    store.put("obj", [big])
    size = len(big)
    edges = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE, size - 1, size]
    starts = edges + [secrets.randbelow(size) for _ in range(10)]
    for start in starts:
        for end in [*edges, start + 1, start + secrets.randbelow(3 * CHUNK_SIZE), None]:
            if end is None or end >= start:
                assert read_all(store, "obj", start, end) == big[start:end], (start, end)


def test_a_range_read_fetches_only_the_chunks_it_needs(
    store: EncryptedStore, backend: CountingStore, big: bytes
) -> None:
    store.put("obj", [big])
    backend.ranges.clear()
    assert read_all(store, "obj", CHUNK_SIZE + 10, CHUNK_SIZE + 20) == big[CHUNK_SIZE + 10 :][:10]
    header_read, body_read = backend.ranges
    assert header_read[0] == 0
    start, end = body_read
    assert end is not None
    assert end - start == STRIDE  # exactly one chunk, not the whole object


def test_raw_files_contain_no_plaintext(store: EncryptedStore, tmp_path: Path) -> None:
    marker = b"\x00\x00\x00\x18ftypisom-MEDIA-SIGNATURE" * 1000
    store.put("clip.mp4", [marker])
    raw = raw_path(tmp_path, "clip.mp4").read_bytes()
    assert b"ftypisom" not in raw
    assert raw.startswith(b"SRE1")


def test_open_write_streams_and_commit_returns_the_plaintext_size(
    store: EncryptedStore, big: bytes
) -> None:
    writer = store.open_write("streamed")
    for i in range(0, len(big), 65536):
        writer.write(big[i : i + 65536])
    assert not store.exists("streamed")
    assert writer.commit() == len(big)
    assert read_all(store, "streamed") == big


def test_aborted_writes_leave_nothing(store: EncryptedStore, tmp_path: Path, big: bytes) -> None:
    writer = store.open_write("a/b/c")
    writer.write(big)
    writer.abort()
    assert not store.exists("a/b/c")
    assert [p for p in (tmp_path / "raw").rglob("*") if p.is_file()] == []


def test_a_failing_source_leaves_nothing(store: EncryptedStore, tmp_path: Path) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"x" * (2 * CHUNK_SIZE)
        raise OSError("upload interrupted")

    with pytest.raises(OSError, match="interrupted"):
        store.put("k", chunks())
    assert [p for p in (tmp_path / "raw").rglob("*") if p.is_file()] == []


def test_flipping_a_stored_byte_is_detected(
    store: EncryptedStore, tmp_path: Path, big: bytes
) -> None:
    store.put("obj", [big])
    path = raw_path(tmp_path, "obj")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(DecryptionError) as info:
        read_all(store, "obj")
    assert info.value.object_id == "obj"


def test_truncating_a_stored_file_is_detected(
    store: EncryptedStore, tmp_path: Path, big: bytes
) -> None:
    store.put("obj", [big])
    path = raw_path(tmp_path, "obj")
    data = path.read_bytes()
    header_size = parse_header(data, "obj").header_size
    for cut in (header_size + 3 * STRIDE, len(data) - 1, header_size + 5, header_size):
        path.write_bytes(data[:cut])
        with pytest.raises(DecryptionError, match="'obj'"):
            read_all(store, "obj")


def test_truncating_an_empty_object_is_detected(store: EncryptedStore, tmp_path: Path) -> None:
    store.put("empty", [])
    path = raw_path(tmp_path, "empty")
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(DecryptionError, match="'empty'"):
        store.read("empty")


def test_tampering_with_an_empty_object_is_detected(store: EncryptedStore, tmp_path: Path) -> None:
    store.put("empty", [])
    path = raw_path(tmp_path, "empty")
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(DecryptionError, match="'empty'"):
        read_all(store, "empty")


def test_swapping_two_chunks_is_detected(store: EncryptedStore, tmp_path: Path, big: bytes) -> None:
    store.put("obj", [big])
    path = raw_path(tmp_path, "obj")
    data = path.read_bytes()
    h = parse_header(data, "obj").header_size
    swapped = (
        data[:h] + data[h + STRIDE : h + 2 * STRIDE] + data[h : h + STRIDE] + data[h + 2 * STRIDE :]
    )
    path.write_bytes(swapped)
    with pytest.raises(DecryptionError, match="chunk 0"):
        read_all(store, "obj")


def test_swapping_two_objects_files_is_detected(
    store: EncryptedStore, tmp_path: Path, big: bytes
) -> None:
    store.put("tasks/a/out.mp4", [big[:5000]])
    store.put("tasks/b/out.mp4", [big[5000:10000]])
    a, b = raw_path(tmp_path, "tasks/a/out.mp4"), raw_path(tmp_path, "tasks/b/out.mp4")
    a_bytes, b_bytes = a.read_bytes(), b.read_bytes()
    a.write_bytes(b_bytes)
    b.write_bytes(a_bytes)
    for key in ("tasks/a/out.mp4", "tasks/b/out.mp4"):
        with pytest.raises(DecryptionError) as info:
            read_all(store, key)
        assert info.value.object_id == key


def test_renaming_an_object_is_detected(store: EncryptedStore, tmp_path: Path) -> None:
    store.put("private/report.mp4", [b"confidential"])
    raw_path(tmp_path, "private/report.mp4").rename(tmp_path / "raw" / "public.mp4")
    with pytest.raises(DecryptionError, match=r"'public\.mp4'"):
        read_all(store, "public.mp4")


def test_a_plaintext_file_planted_in_the_backend_is_refused(
    store: EncryptedStore, backend: CountingStore
) -> None:
    backend.put("planted", [b"just some plaintext, not an envelope"])
    with pytest.raises(DecryptionError, match="bad magic"):
        read_all(store, "planted")


def test_a_store_with_the_wrong_keys_cannot_read(
    backend: CountingStore, store: EncryptedStore
) -> None:
    store.put("obj", [b"data"])
    other = EncryptedStore(backend, Keyring(LocalKek("kek-2", secrets.token_bytes(32))))
    with pytest.raises(KeyUnavailableError, match="'obj'"):
        other.read("obj")
    impostor = EncryptedStore(backend, Keyring(LocalKek("kek-1", secrets.token_bytes(32))))
    with pytest.raises(DecryptionError, match="'obj'"):
        impostor.read("obj")


def test_missing_objects_and_bad_keys(store: EncryptedStore) -> None:
    with pytest.raises(ObjectNotFound):
        store.read("missing")
    with pytest.raises(ObjectNotFound):
        store.size("missing")
    for key in ("../x", "/abs", "a//b", "a/./b", "a\x00b"):
        with pytest.raises(InvalidObjectKey):
            store.put(key, [b"x"])
        with pytest.raises(InvalidObjectKey):
            store.read(key)


def test_listing_and_deleting_pass_through(store: EncryptedStore) -> None:
    for key in ("t/1/a", "t/1/b", "t/2/a"):
        store.put(key, [key.encode()])
    assert store.list("t") == ["t/1/a", "t/1/b", "t/2/a"]
    assert store.exists("t/1/a")
    assert store.delete_prefix("t/1") == 2
    store.delete("t/2/a")
    store.delete("t/2/a")
    assert store.list("") == []


def test_empty_and_out_of_range_reads(store: EncryptedStore) -> None:
    store.put("k", [b"0123456789"])
    assert read_all(store, "k", 4, 4) == b""
    assert read_all(store, "k", 10) == b""
    assert read_all(store, "k", 8, 100) == b"89"
    with pytest.raises(ValueError, match="range"):
        store.read("k", -1)
    with pytest.raises(ValueError, match="range"):
        store.read("k", 5, 2)
