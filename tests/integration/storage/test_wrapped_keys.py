"""The wrapped-key store and the encrypted store in format 2: rotation without rewriting
media, crypto-shredding, and every way of breaking an object failing closed."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from strongroom.crypto.datakeys import WrappedKey
from strongroom.crypto.envelope import (
    CHUNK_SIZE,
    HEADER_MAX_SIZE,
    DecryptionError,
    Keyring,
    KeyUnavailableError,
    LocalKek,
    parse_header,
)
from strongroom.storage.encrypted import EncryptedStore, Rewrap
from strongroom.storage.interface import ObjectNotFound
from strongroom.storage.local import LocalStore
from strongroom.storage.wrapped_keys import LEGACY_REF, SqlCipherWrappedKeys

DATA = secrets.token_bytes(3 * CHUNK_SIZE + 777)


@pytest.fixture
def old_kek() -> LocalKek:
    return LocalKek("kek-old", secrets.token_bytes(32))


@pytest.fixture
def new_kek() -> LocalKek:
    return LocalKek("kek-new", secrets.token_bytes(32))


@pytest.fixture
def keys(tmp_path: Path) -> SqlCipherWrappedKeys:
    return SqlCipherWrappedKeys(tmp_path / "db" / "wrapped-keys.db", secrets.token_bytes(32))


@pytest.fixture
def backend(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "objects")


@pytest.fixture
def store(backend: LocalStore, old_kek: LocalKek, keys: SqlCipherWrappedKeys) -> EncryptedStore:
    return EncryptedStore(backend, Keyring(old_kek), keys)


def raw(backend: LocalStore, key: str) -> bytes:
    return b"".join(backend.read(key))


def read(store: EncryptedStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(store.read(key, start, end))


# ------------------------------------------------------------------ the key store itself


def test_records_are_kept_per_object_and_reference(keys: SqlCipherWrappedKeys) -> None:
    one, two = WrappedKey("k1", b"a" * 60), WrappedKey("k2", b"b" * 60)
    keys.put("tasks/t/a", "r1", one)
    keys.put("tasks/t/a", "r2", two)
    assert keys.get("tasks/t/a", "r1") == one
    assert keys.get("tasks/t/a", "r2") == two
    assert keys.get("tasks/t/b", "r1") is None
    assert keys.delete("tasks/t/a", keep_ref="r2") == 1
    assert keys.get("tasks/t/a", "r1") is None and keys.get("tasks/t/a", "r2") == two
    assert keys.count_by_key() == {"k2": 1}


def test_replace_is_compare_and_set(keys: SqlCipherWrappedKeys) -> None:
    old, new = WrappedKey("k1", b"a" * 60), WrappedKey("k2", b"b" * 60)
    assert keys.replace("o", "r", None, old)  # insert when absent
    assert not keys.replace("o", "r", None, new)  # but never over a record
    assert not keys.replace("o", "r", WrappedKey("k1", b"x" * 60), new)  # changed meanwhile
    assert keys.replace("o", "r", old, new)
    assert keys.get("o", "r") == new
    keys.discard("o", "r")
    assert not keys.replace("o", "r", new, old)  # a shredded key is never resurrected
    assert keys.get("o", "r") is None


def test_delete_prefix_matches_whole_segments_only(keys: SqlCipherWrappedKeys) -> None:
    wrapped = WrappedKey("k", b"w" * 60)
    for key in ("tasks/ab", "tasks/ab/x", "tasks/abc/x", "tasks/a_/x", "tasks/ax/x"):
        keys.put(key, "r", wrapped)
    assert keys.delete_prefix("tasks/ab") == 2
    assert keys.delete_prefix("tasks/a_") == 1  # "_" is no wildcard here
    assert keys.get("tasks/abc/x", "r") and keys.get("tasks/ax/x", "r")
    with pytest.raises(ValueError, match="every object"):
        keys.delete_prefix("/")


def test_the_key_store_file_is_encrypted_and_private(tmp_path: Path) -> None:
    path = tmp_path / "db" / "wrapped-keys.db"
    cipher_key = secrets.token_bytes(32)
    store = SqlCipherWrappedKeys(path, cipher_key)
    marker = secrets.token_bytes(60)
    store.put("tasks/visible-name", "r", WrappedKey("kek-x", marker))
    assert path.stat().st_mode & 0o077 == 0
    for file in path.parent.iterdir():
        content = file.read_bytes()
        assert marker not in content and b"visible-name" not in content
    with pytest.raises(Exception, match="file is not a database"):
        SqlCipherWrappedKeys(path, secrets.token_bytes(32)).get("tasks/visible-name", "r")
    assert SqlCipherWrappedKeys(path, cipher_key).get("tasks/visible-name", "r")


def test_a_wrong_cipher_key_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SqlCipherWrappedKeys(tmp_path / "k.db", b"short")


# ------------------------------------------------------------------ format 2 objects


def test_new_objects_keep_their_data_key_only_in_the_key_store(
    store: EncryptedStore, backend: LocalStore, keys: SqlCipherWrappedKeys
) -> None:
    store.put("tasks/t/video.mp4", [DATA])
    header = parse_header(raw(backend, "tasks/t/video.mp4")[:HEADER_MAX_SIZE], "tasks/t/video.mp4")
    assert header.version == 2
    record = keys.get("tasks/t/video.mp4", header.key_ref)
    assert record is not None and record.key_id == "kek-old"
    assert record.wrapped not in raw(backend, "tasks/t/video.mp4")
    assert read(store, "tasks/t/video.mp4") == DATA
    assert (
        read(store, "tasks/t/video.mp4", CHUNK_SIZE - 5, 2 * CHUNK_SIZE + 9)
        == DATA[CHUNK_SIZE - 5 : 2 * CHUNK_SIZE + 9]
    )
    assert store.size("tasks/t/video.mp4") == len(DATA)
    assert store.key_id_of("tasks/t/video.mp4") == "kek-old"


def test_overwriting_an_object_leaves_one_record(
    store: EncryptedStore, keys: SqlCipherWrappedKeys
) -> None:
    store.put("o", [b"first"])
    store.put("o", [b"second"])
    assert read(store, "o") == b"second"
    assert keys.count_by_key() == {"kek-old": 1}


def test_an_aborted_write_leaves_neither_object_nor_record(
    store: EncryptedStore, keys: SqlCipherWrappedKeys
) -> None:
    def failing() -> list[bytes]:
        raise OSError("source went away")

    writer = store.open_write("o")
    writer.write(b"partial")
    writer.abort()
    with pytest.raises(OSError, match="source went away"):
        store.put("p", failing())
    assert keys.count_by_key() == {}
    assert not store.exists("o") and not store.exists("p")


def test_deleting_shreds_the_key_so_a_surviving_copy_is_unreadable(
    store: EncryptedStore, backend: LocalStore, keys: SqlCipherWrappedKeys, tmp_path: Path
) -> None:
    store.put("tasks/t/a.mp4", [DATA])
    store.put("tasks/t/b.mp4", [b"b"])
    store.put("tasks/keep/c.mp4", [b"c"])
    copy = raw(backend, "tasks/t/a.mp4")  # e.g. a backup of the object folder
    record = keys.get("tasks/t/a.mp4", parse_header(copy[:HEADER_MAX_SIZE], "x").key_ref)
    assert record is not None

    store.delete("tasks/t/b.mp4")
    assert store.delete_prefix("tasks/t") == 1

    assert keys.count_by_key() == {"kek-old": 1}
    backend.put("tasks/t/a.mp4", [copy])  # the backup is restored
    with pytest.raises(KeyUnavailableError, match="shredded") as info:
        read(store, "tasks/t/a.mp4")
    assert info.value.object_id == "tasks/t/a.mp4"
    with pytest.raises(KeyUnavailableError):
        store.key_id_of("tasks/t/a.mp4")
    for file in (tmp_path / "db").iterdir():  # secure_delete: not left in the key file either
        assert record.wrapped not in file.read_bytes()
    assert read(store, "tasks/keep/c.mp4") == b"c"


@pytest.mark.parametrize("where", ["header", "chunk", "tag"])
def test_tampered_objects_fail_closed_and_stay_as_they_were(
    store: EncryptedStore, backend: LocalStore, where: str
) -> None:
    store.put("o", [DATA])
    blob = bytearray(raw(backend, "o"))
    position = {"header": 20, "chunk": 200, "tag": len(blob) - 3}[where]
    blob[position] ^= 1
    backend.put("o", [bytes(blob)])
    with pytest.raises(DecryptionError) as info:
        read(store, "o")
    assert info.value.object_id == "o"
    assert raw(backend, "o") == bytes(blob)


def test_a_truncated_object_fails_closed(store: EncryptedStore, backend: LocalStore) -> None:
    store.put("o", [DATA])
    backend.put("o", [raw(backend, "o")[:-100]])
    with pytest.raises(DecryptionError, match=r"failed authentication|truncated"):
        read(store, "o")


def test_swapped_objects_fail_closed(store: EncryptedStore, backend: LocalStore) -> None:
    store.put("a", [b"A" * 5000])
    store.put("b", [b"B" * 5000])
    a, b = raw(backend, "a"), raw(backend, "b")
    backend.put("a", [b])
    backend.put("b", [a])
    for key in ("a", "b"):
        with pytest.raises(KeyUnavailableError):  # the other object's reference finds nothing
            read(store, key)


def test_a_store_without_the_key_fails_closed_naming_object_and_key(
    store: EncryptedStore, backend: LocalStore, keys: SqlCipherWrappedKeys, new_kek: LocalKek
) -> None:
    store.put("tasks/t/x", [b"secret"])
    stranger = EncryptedStore(backend, Keyring(new_kek), keys)
    with pytest.raises(KeyUnavailableError) as info:
        read(stranger, "tasks/t/x")
    assert (info.value.object_id, info.value.key_id) == ("tasks/t/x", "kek-old")


# ------------------------------------------------------------------ rotation


def test_rewrapping_moves_the_key_and_never_touches_the_media(
    store: EncryptedStore,
    backend: LocalStore,
    keys: SqlCipherWrappedKeys,
    old_kek: LocalKek,
    new_kek: LocalKek,
) -> None:
    store.put("tasks/t/video.mp4", [DATA])
    before = raw(backend, "tasks/t/video.mp4")
    mtime = (backend._root / "tasks" / "t" / "video.mp4").stat().st_mtime_ns
    new_store = EncryptedStore(backend, Keyring(new_kek, [old_kek]), keys)

    assert new_store.rewrap("tasks/t/video.mp4", new_kek) is Rewrap.REWRAPPED
    assert new_store.rewrap("tasks/t/video.mp4", new_kek) is Rewrap.CURRENT  # idempotent

    assert raw(backend, "tasks/t/video.mp4") == before  # byte for byte
    assert (backend._root / "tasks" / "t" / "video.mp4").stat().st_mtime_ns == mtime
    assert new_store.key_id_of("tasks/t/video.mp4") == "kek-new"
    only_new = EncryptedStore(backend, Keyring(new_kek), keys)
    assert read(only_new, "tasks/t/video.mp4") == DATA


def test_a_format_1_object_is_rotated_by_adopting_its_key(
    backend: LocalStore, keys: SqlCipherWrappedKeys, old_kek: LocalKek, new_kek: LocalKek
) -> None:
    EncryptedStore(backend, Keyring(old_kek)).put("uploads/u/part", [DATA])  # today's format
    before = raw(backend, "uploads/u/part")
    store = EncryptedStore(backend, Keyring(new_kek, [old_kek]), keys)
    assert store.key_id_of("uploads/u/part") == "kek-old"

    assert store.rewrap("uploads/u/part", new_kek) is Rewrap.REWRAPPED

    assert raw(backend, "uploads/u/part") == before
    assert keys.get("uploads/u/part", LEGACY_REF) is not None
    assert store.key_id_of("uploads/u/part") == "kek-new"
    assert read(EncryptedStore(backend, Keyring(new_kek), keys), "uploads/u/part") == DATA
    store.delete("uploads/u/part")
    assert keys.count_by_key() == {}


def test_rewrap_fails_closed_and_leaves_the_object_unchanged(
    store: EncryptedStore, backend: LocalStore, keys: SqlCipherWrappedKeys, new_kek: LocalKek
) -> None:
    stranger = LocalKek("kek-gone", secrets.token_bytes(32))
    EncryptedStore(backend, Keyring(stranger)).put("lost", [b"x"])
    store.put("tampered", [b"y"])
    header = parse_header(raw(backend, "tampered")[:HEADER_MAX_SIZE], "tampered")
    record = keys.get("tampered", header.key_ref)
    assert record is not None
    bad = WrappedKey(record.key_id, record.wrapped[:-1] + bytes([record.wrapped[-1] ^ 1]))
    keys.put("tampered", header.key_ref, bad)
    snapshot = {key: raw(backend, key) for key in ("lost", "tampered")}
    rotating = EncryptedStore(backend, Keyring(new_kek, [store.keyring.primary]), keys)

    with pytest.raises(KeyUnavailableError) as lost:
        rotating.rewrap("lost", new_kek)
    with pytest.raises(DecryptionError, match="does not authenticate") as tampered:
        rotating.rewrap("tampered", new_kek)

    assert (lost.value.object_id, lost.value.key_id) == ("lost", "kek-gone")
    assert (tampered.value.object_id, tampered.value.key_id) == ("tampered", "kek-old")
    assert {key: raw(backend, key) for key in snapshot} == snapshot
    assert keys.get("tampered", header.key_ref) == bad
    assert keys.get("lost", LEGACY_REF) is None
    with pytest.raises(ObjectNotFound):
        rotating.rewrap("missing", new_kek)


def test_rewrap_needs_a_key_store(backend: LocalStore, old_kek: LocalKek) -> None:
    store = EncryptedStore(backend, Keyring(old_kek))
    store.put("o", [b"x"])
    with pytest.raises(RuntimeError, match="key store"):
        store.rewrap("o", old_kek)


def test_a_refresh_rule_rewraps_objects_already_on_the_target_key(
    store: EncryptedStore, old_kek: LocalKek
) -> None:
    store.put("o", [b"x"])
    assert store.rewrap("o", old_kek) is Rewrap.CURRENT
    assert store.rewrap("o", old_kek, refresh=lambda _wrapped: True) is Rewrap.REWRAPPED
    assert read(store, "o") == b"x"
