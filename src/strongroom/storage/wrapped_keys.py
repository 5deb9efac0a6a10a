"""The wrapped-key store: where format 2 objects keep their wrapped data keys.

An object's header holds only a random reference; the data key, wrapped by a KEK, is one
record here under (object id, reference). That split is what makes the two key operations
cheap and final: rotation updates a record and never rewrites the (possibly huge, possibly
immutable) stored object, and deleting the record destroys the only wrapped copy of the data
key, so the object's ciphertext is unreadable wherever else it survives (crypto-shredding).

The embedded profile keeps the records in an SQLCipher file next to the database, not in
Django's database: the store is used from the edge's async request paths and from plain
packages (storage must not import Django), and a small file with its own connections works
from any thread. `secure_delete` overwrites deleted records in the file, and the write-ahead
log is truncated after deletions, so a shredded key does not linger in either file. The
cluster profile keeps the same records in a PostgreSQL table every edge shares
(storage.postgres_keys); both implement WrappedKeyStore and pass the same contract tests.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from sqlcipher3 import dbapi2 as sqlcipher

from strongroom.crypto.datakeys import WrappedKey

__all__ = ["LEGACY_REF", "SqlCipherWrappedKeys", "WrappedKeyStore"]

# The reference a format 1 object's record uses once rotation has adopted its data key into
# the store (format 1 headers carry no reference); never a valid format 2 reference.
LEGACY_REF = "format-1"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS wrapped_keys ("
    " object_id TEXT NOT NULL, ref TEXT NOT NULL, key_id TEXT NOT NULL, wrapped BLOB NOT NULL,"
    " PRIMARY KEY (object_id, ref)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS wrapped_keys_by_kek ON wrapped_keys (key_id)",
)


class WrappedKeyStore(Protocol):
    """Wrapped data keys by (object id, reference)."""

    def get(self, object_id: str, ref: str) -> WrappedKey | None: ...

    def put(self, object_id: str, ref: str, key: WrappedKey) -> None:
        """Insert or replace the record."""
        ...

    def replace(self, object_id: str, ref: str, old: WrappedKey | None, new: WrappedKey) -> bool:
        """Set the record to `new` only if it still is `old` (None: only if there is none).
        False when it changed meanwhile, so a rotation never resurrects a shredded key."""
        ...

    def discard(self, object_id: str, ref: str) -> None:
        """Delete one record (missing is fine)."""
        ...

    def delete(self, object_id: str, *, keep_ref: str | None = None) -> int:
        """Delete every record of the object (but `keep_ref`'s); return how many."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete the records of every object equal to or under `prefix`; return how many."""
        ...

    def count_by_key(self) -> dict[str, int]:
        """How many records each KEK id wraps."""
        ...


class SqlCipherWrappedKeys:
    """A WrappedKeyStore in one SQLCipher file, encrypted with `cipher_key` (32 bytes)."""

    def __init__(self, path: Path, cipher_key: bytes) -> None:
        if len(cipher_key) != 32:
            raise ValueError("the key store's cipher key must be 32 bytes")
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._path = path
        self._cipher_key = cipher_key
        self._local = threading.local()  # one connection per thread: sqlite objects are not shared
        with self._connection() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)

    def __repr__(self) -> str:
        return "SqlCipherWrappedKeys(...)"

    def _connect(self) -> Any:
        existed = self._path.exists()
        conn = sqlcipher.connect(str(self._path), timeout=30, check_same_thread=False)
        conn.execute(f"PRAGMA key = \"x'{self._cipher_key.hex()}'\"")
        conn.isolation_level = None  # autocommit: every method is one statement
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        if not existed:
            self._path.chmod(0o600)
        return conn

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        yield conn

    def _run(self, sql: str, params: tuple[object, ...]) -> int:
        with self._connection() as conn:
            return int(conn.execute(sql, params).rowcount)

    def get(self, object_id: str, ref: str) -> WrappedKey | None:
        """The record, or None."""
        with self._connection() as conn:
            row = conn.execute(
                "SELECT key_id, wrapped FROM wrapped_keys WHERE object_id = ? AND ref = ?",
                (object_id, ref),
            ).fetchone()
        return None if row is None else WrappedKey(str(row[0]), bytes(row[1]))

    def put(self, object_id: str, ref: str, key: WrappedKey) -> None:
        """Insert or replace the record."""
        self._run(
            "INSERT OR REPLACE INTO wrapped_keys VALUES (?, ?, ?, ?)",
            (object_id, ref, key.key_id, key.wrapped),
        )

    def replace(self, object_id: str, ref: str, old: WrappedKey | None, new: WrappedKey) -> bool:
        """Compare-and-set; see WrappedKeyStore.replace."""
        if old is None:
            sql = "INSERT OR IGNORE INTO wrapped_keys VALUES (?, ?, ?, ?)"
            return self._run(sql, (object_id, ref, new.key_id, new.wrapped)) == 1
        sql = (
            "UPDATE wrapped_keys SET key_id = ?, wrapped = ?"
            " WHERE object_id = ? AND ref = ? AND key_id = ? AND wrapped = ?"
        )
        params = (new.key_id, new.wrapped, object_id, ref, old.key_id, old.wrapped)
        return self._run(sql, params) == 1

    def discard(self, object_id: str, ref: str) -> None:
        """Delete one record."""
        self._shred("DELETE FROM wrapped_keys WHERE object_id = ? AND ref = ?", (object_id, ref))

    def delete(self, object_id: str, *, keep_ref: str | None = None) -> int:
        """Delete the object's records (except `keep_ref`)."""
        if keep_ref is None:
            return self._shred("DELETE FROM wrapped_keys WHERE object_id = ?", (object_id,))
        sql = "DELETE FROM wrapped_keys WHERE object_id = ? AND ref != ?"
        return self._shred(sql, (object_id, keep_ref))

    def delete_prefix(self, prefix: str) -> int:
        """Delete the records of every object equal to or under `prefix` ("" is refused)."""
        clean = prefix.rstrip("/")
        if not clean:
            raise ValueError("refusing to delete the keys of every object")
        # Whole path segments, as ObjectStore matches prefixes; not LIKE, whose "_" wildcard
        # is a valid key character.
        sql = "DELETE FROM wrapped_keys WHERE object_id = ? OR substr(object_id, 1, ?) = ?"
        return self._shred(sql, (clean, len(clean) + 1, clean + "/"))

    def count_by_key(self) -> dict[str, int]:
        """Records per KEK id."""
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT key_id, count(*) FROM wrapped_keys GROUP BY key_id"
            ).fetchall()
        return {str(key_id): int(count) for key_id, count in rows}

    def _shred(self, sql: str, params: tuple[object, ...]) -> int:
        count = self._run(sql, params)
        if count:
            # Move the zeroed pages into the database file and empty the log, so the deleted
            # wrapped keys are not left in the WAL. Best effort: a busy reader may delay it.
            with self._connection() as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        return count
