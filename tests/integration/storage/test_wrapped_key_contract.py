"""The WrappedKeyStore contract, run against every implementation: the SQLCipher file of the
embedded profile and the PostgreSQL table of the cluster profile. Compare-and-set is raced
from real threads, each with its own connection, as edges and rotation runners race."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from strongroom.crypto.datakeys import WrappedKey
from strongroom.storage.postgres_keys import PostgresWrappedKeys
from strongroom.storage.wrapped_keys import SqlCipherWrappedKeys, WrappedKeyStore
from tests.integration.storage.postgres import fresh_database

ROUNDS = 40


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    yield from fresh_database()


@pytest.fixture(params=["sqlcipher", "postgres"])
def keys(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WrappedKeyStore]:
    if request.param == "sqlcipher":
        yield SqlCipherWrappedKeys(tmp_path / "wrapped-keys.db", secrets.token_bytes(32))
        return
    store = PostgresWrappedKeys(request.getfixturevalue("postgres_url"))
    yield store
    store.delete_prefix("t")  # every test writes under t/ only
    store.close()


def key(kek: str, fill: bytes) -> WrappedKey:
    return WrappedKey(kek, fill * 60)


# ------------------------------------------------------------------ single caller


def test_records_are_kept_per_object_and_reference(keys: WrappedKeyStore) -> None:
    one, two = key("k1", b"a"), key("k2", b"b")
    keys.put("t/o/a", "r1", one)
    keys.put("t/o/a", "r2", two)
    assert keys.get("t/o/a", "r1") == one and keys.get("t/o/a", "r2") == two
    assert keys.get("t/o/b", "r1") is None and keys.get("t/o/a", "r3") is None
    assert keys.count_by_key() == {"k1": 1, "k2": 1}


def test_put_replaces_and_keeps_bytes_exactly(keys: WrappedKeyStore) -> None:
    raw = WrappedKey("k1", bytes(range(256)))  # every byte value, NUL included
    keys.put("t/o", "r", key("k0", b"x"))
    keys.put("t/o", "r", raw)
    assert keys.get("t/o", "r") == raw
    assert keys.count_by_key() == {"k1": 1}


def test_replace_is_compare_and_set(keys: WrappedKeyStore) -> None:
    old, new = key("k1", b"a"), key("k2", b"b")
    assert keys.replace("t/o", "r", None, old)  # insert when absent
    assert not keys.replace("t/o", "r", None, new)  # but never over a record
    assert not keys.replace("t/o", "r", key("k1", b"x"), new)  # the bytes changed meanwhile
    assert not keys.replace("t/o", "r", WrappedKey("k9", old.wrapped), new)  # the key id did
    assert keys.replace("t/o", "r", old, new)
    assert keys.get("t/o", "r") == new
    keys.discard("t/o", "r")
    assert not keys.replace("t/o", "r", new, old)  # a shredded key is never resurrected
    assert keys.get("t/o", "r") is None


def test_delete_removes_every_record_of_the_object_but_the_kept_one(
    keys: WrappedKeyStore,
) -> None:
    for ref in ("r1", "r2", "r3"):
        keys.put("t/o", ref, key("k", b"w"))
    keys.put("t/o/child", "r1", key("k", b"w"))
    assert keys.delete("t/o", keep_ref="r2") == 2
    assert [keys.get("t/o", r) is not None for r in ("r1", "r2", "r3")] == [False, True, False]
    assert keys.delete("t/o") == 1
    assert keys.delete("t/o") == 0  # missing is fine
    assert keys.get("t/o/child", "r1") is not None  # another object, even if "under" it
    keys.discard("t/o/child", "r1")
    keys.discard("t/o/child", "r1")  # missing is fine
    assert keys.count_by_key() == {}


def test_delete_prefix_matches_whole_segments_and_no_wildcards(keys: WrappedKeyStore) -> None:
    names = ("t/ab", "t/ab/x", "t/ab/x/y", "t/abc/x", "t/ab0", "t/a_/x", "t/ax/x", "t/a%/x")
    for name in names:
        keys.put(name, "r", key("k", b"w"))
    assert keys.delete_prefix("t/ab/") == 3
    assert keys.delete_prefix("t/a_") == 1  # "_" matches only itself
    assert keys.delete_prefix("t/a%") == 1  # and so does "%"
    left = [name for name in names if keys.get(name, "r") is not None]
    assert left == ["t/abc/x", "t/ab0", "t/ax/x"]
    for prefix in ("", "/", "//"):
        with pytest.raises(ValueError, match="every object"):
            keys.delete_prefix(prefix)
    assert keys.count_by_key() == {"k": 3}


def test_counts_are_per_wrapping_key(keys: WrappedKeyStore) -> None:
    for index in range(7):
        keys.put(f"t/o{index}", "r", key("kek-even" if index % 2 == 0 else "kek-odd", b"w"))
    assert keys.count_by_key() == {"kek-even": 4, "kek-odd": 3}


# ------------------------------------------------------------------ concurrent callers


def race(keys: WrappedKeyStore, attempt: Callable[[int], bool]) -> list[list[int]]:
    """Run `attempt(thread)` from two threads at once, ROUNDS times; the winners per round."""
    barrier = threading.Barrier(2)

    def contender(thread: int) -> list[bool]:
        outcomes = []
        for round_ in range(ROUNDS):
            barrier.wait(timeout=30)
            outcomes.append(attempt(thread * 1000 + round_))
        return outcomes

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(contender, (1, 2))
    return [[t for t, won in ((1, a), (2, b)) if won] for a, b in zip(first, second, strict=True)]


def test_of_two_concurrent_replacements_exactly_one_wins(keys: WrappedKeyStore) -> None:
    start = key("kek-old", b"s")
    for round_ in range(ROUNDS):
        keys.put(f"t/race/{round_}", "r", start)

    def attempt(tag: int) -> bool:
        thread, round_ = divmod(tag, 1000)
        return keys.replace(f"t/race/{round_}", "r", start, key(f"kek-{thread}", b"n"))

    winners = race(keys, attempt)
    assert all(len(won) == 1 for won in winners), winners
    for round_, (winner,) in enumerate(winners):  # the record is the winner's, untouched
        assert keys.get(f"t/race/{round_}", "r") == key(f"kek-{winner}", b"n")


def test_of_two_concurrent_first_inserts_exactly_one_wins(keys: WrappedKeyStore) -> None:
    def attempt(tag: int) -> bool:
        thread, round_ = divmod(tag, 1000)
        return keys.replace(f"t/new/{round_}", "r", None, key(f"kek-{thread}", b"i"))

    winners = race(keys, attempt)
    assert all(len(won) == 1 for won in winners), winners
    assert sum(keys.count_by_key().values()) == ROUNDS


def test_a_replacement_racing_a_shred_never_resurrects_the_key(keys: WrappedKeyStore) -> None:
    start = key("kek-old", b"s")
    for round_ in range(ROUNDS):
        keys.put(f"t/shred/{round_}", "r", start)

    def attempt(tag: int) -> bool:
        thread, round_ = divmod(tag, 1000)
        if thread == 1:
            return keys.delete(f"t/shred/{round_}") == 1
        return keys.replace(f"t/shred/{round_}", "r", start, key("kek-new", b"n"))

    race(keys, attempt)
    assert keys.count_by_key() == {}  # whoever went first, the shred always took the record


# ------------------------------------------------------------------ PostgreSQL specifics


def rows(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT object_id, ref, key_id FROM strongroom_wrapped_keys").fetchall()


def test_postgres_creates_its_table_once_even_when_processes_start_together() -> None:
    for url in fresh_database():
        stores = [PostgresWrappedKeys(url) for _ in range(4)]  # as four edges starting at once
        with ThreadPoolExecutor(max_workers=4) as pool:
            found = list(pool.map(lambda store: store.get("t/o", "r"), stores))
        assert found == [None] * 4
        stores[0].put("t/o", "r", key("k", b"w"))
        assert stores[3].get("t/o", "r") == key("k", b"w")  # one table, seen by all
        for store in stores:
            store.close()


def test_postgres_deletes_rows_rather_than_marking_them(postgres_url: str) -> None:
    store = PostgresWrappedKeys(postgres_url)
    store.put("t/gone", "r1", key("k", b"w"))
    store.put("t/gone/part", "r1", key("k", b"w"))
    store.put("t/kept", "r1", key("k", b"w"))
    assert store.delete("t/gone") == 1 and store.delete_prefix("t/gone") == 1
    assert rows(postgres_url) == [("t/kept", "r1", "k")]
    store.delete_prefix("t")
    store.close()


def test_postgres_reconnects_after_the_server_drops_the_connection(postgres_url: str) -> None:
    store = PostgresWrappedKeys(postgres_url)
    store.put("t/o", "r", key("k", b"w"))
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'strongroom-wrapped-keys' AND pid <> pg_backend_pid()"
        )
    assert store.get("t/o", "r") == key("k", b"w")  # the dead connection was replaced
    store.delete_prefix("t")
    store.close()


def test_postgres_store_shows_no_connection_string() -> None:
    store = PostgresWrappedKeys("postgresql://strongroom:s3cret-pass@127.0.0.1:1/db")
    assert "s3cret" not in repr(store) and "s3cret" not in str(store)
    with pytest.raises(psycopg.OperationalError) as refused:
        store.get("t/o", "r")  # nothing listens on port 1
    assert "s3cret" not in str(refused.value)
