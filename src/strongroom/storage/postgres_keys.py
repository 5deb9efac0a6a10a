"""The wrapped-key store in PostgreSQL: the cluster profile's home for format 2 data keys.

Every edge and background process of a cluster must see the same records (an object written
through one edge is read, rotated or shredded through another), so the records live in the
cluster's database, in a table of their own. The records are data keys already wrapped by the
KEK, so a copy of the table (or of the database) reveals no data key without the KEK.

Plain psycopg, not Django's ORM: storage must not import Django, and the store is called from
the edge's async request paths and worker threads, where the ORM refuses to run. Each thread
keeps one autocommit connection (the thread pools that call the store are small and
long-lived; a pool library would add a dependency for no gain at this size), and every method
is one statement, so there are no transactions to leave open.

The table is created on first use (`CREATE TABLE IF NOT EXISTS`) rather than by a Django
migration: the SQL that uses the table and the SQL that defines it stay in one place, and the
store works the same from the edge, the CLI and tests with no Django app involved. Object ids
and references compare bytewise (`COLLATE "C"`), which is what makes the prefix deletions a
range scan of the primary key and keeps `_` and `%` ordinary characters.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import psycopg

from strongroom.crypto.datakeys import WrappedKey

__all__ = ["TABLE", "PostgresWrappedKeys"]

TABLE = "strongroom_wrapped_keys"
# Two processes running CREATE TABLE IF NOT EXISTS at the same moment can both pass the "if not
# exists" and one then fails on a catalog unique index; a transaction-scoped advisory lock
# (an arbitrary constant for this table) makes them take turns.
_SCHEMA_LOCK = 0x5352_574B_0001
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS strongroom_wrapped_keys ("
    ' object_id TEXT COLLATE "C" NOT NULL, ref TEXT COLLATE "C" NOT NULL,'
    " key_id TEXT NOT NULL, wrapped BYTEA NOT NULL, PRIMARY KEY (object_id, ref))",
    "CREATE INDEX IF NOT EXISTS strongroom_wrapped_keys_by_kek ON strongroom_wrapped_keys (key_id)",
)
_SELECT = "SELECT key_id, wrapped FROM strongroom_wrapped_keys WHERE object_id = %s AND ref = %s"
_UPSERT = (
    "INSERT INTO strongroom_wrapped_keys (object_id, ref, key_id, wrapped)"
    " VALUES (%s, %s, %s, %s) ON CONFLICT (object_id, ref)"
    " DO UPDATE SET key_id = EXCLUDED.key_id, wrapped = EXCLUDED.wrapped"
)
_INSERT_IF_ABSENT = (
    "INSERT INTO strongroom_wrapped_keys (object_id, ref, key_id, wrapped)"
    " VALUES (%s, %s, %s, %s) ON CONFLICT (object_id, ref) DO NOTHING"
)
# READ COMMITTED re-checks the WHERE clause on the newest row version after waiting for a
# concurrent writer, so of two racing replacements from the same `old` exactly one matches.
_COMPARE_AND_SET = (
    "UPDATE strongroom_wrapped_keys SET key_id = %s, wrapped = %s"
    " WHERE object_id = %s AND ref = %s AND key_id = %s AND wrapped = %s"
)
_DELETE_ONE = "DELETE FROM strongroom_wrapped_keys WHERE object_id = %s AND ref = %s"
_DELETE_OBJECT = "DELETE FROM strongroom_wrapped_keys WHERE object_id = %s"
_DELETE_OBJECT_BUT = "DELETE FROM strongroom_wrapped_keys WHERE object_id = %s AND ref <> %s"
# "p/" <= id < "p0" is exactly "starts with p/" in bytewise order ('0' follows '/').
_DELETE_PREFIX = (
    "DELETE FROM strongroom_wrapped_keys"
    " WHERE object_id = %s OR (object_id >= %s AND object_id < %s)"
)
_COUNT = "SELECT key_id, count(*) FROM strongroom_wrapped_keys GROUP BY key_id"


class PostgresWrappedKeys:
    """A WrappedKeyStore in the `strongroom_wrapped_keys` table of the database `conninfo`
    (a libpq connection string or postgresql:// URL). Construction does no I/O; the first
    call connects and creates the table if it is missing."""

    def __init__(self, conninfo: str, *, connect_timeout: int = 10) -> None:
        self._conninfo = conninfo
        self._connect_timeout = connect_timeout
        self._local = threading.local()  # one connection per thread: no cross-thread sharing
        self._open: weakref.WeakSet[_ThreadConnection] = weakref.WeakSet()  # for `close`
        self._open_lock = threading.Lock()
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    def __repr__(self) -> str:
        return "PostgresWrappedKeys(...)"  # the connection string may carry a password

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=self._connect_timeout,
            application_name="strongroom-wrapped-keys",
        )

    def _connection(self) -> psycopg.Connection[Any]:
        held: _ThreadConnection | None = getattr(self._local, "held", None)
        if held is None or held.conn.closed:
            held = self._local.held = _ThreadConnection(self._connect())
            with self._open_lock:
                self._open.add(held)
        if not self._schema_ready:
            self._create_schema(held.conn)
        return held.conn

    def _create_schema(self, conn: psycopg.Connection[Any]) -> None:
        with self._schema_lock:
            if self._schema_ready:
                return
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                for statement in _SCHEMA:
                    conn.execute(statement)
            self._schema_ready = True

    def _execute(self, sql: Any, params: tuple[object, ...]) -> psycopg.Cursor[Any]:
        """Run one statement; a connection the server dropped meanwhile (restart, failover,
        idle timeout) is replaced and the statement retried once. Every statement here is
        safe to repeat: at worst a repeated compare-and-set reports "changed meanwhile"."""
        conn = self._connection()
        try:
            return conn.execute(sql, params)
        except psycopg.OperationalError:
            if not conn.broken:
                raise
            conn.close()
            return self._connection().execute(sql, params)

    def _run(self, sql: Any, params: tuple[object, ...]) -> int:
        return int(self._execute(sql, params).rowcount)

    def get(self, object_id: str, ref: str) -> WrappedKey | None:
        """The record, or None."""
        row = self._execute(_SELECT, (object_id, ref)).fetchone()
        return None if row is None else WrappedKey(str(row[0]), bytes(row[1]))

    def put(self, object_id: str, ref: str, key: WrappedKey) -> None:
        """Insert or replace the record."""
        self._run(_UPSERT, (object_id, ref, key.key_id, key.wrapped))

    def replace(self, object_id: str, ref: str, old: WrappedKey | None, new: WrappedKey) -> bool:
        """Compare-and-set; see WrappedKeyStore.replace."""
        if old is None:
            return self._run(_INSERT_IF_ABSENT, (object_id, ref, new.key_id, new.wrapped)) == 1
        params = (new.key_id, new.wrapped, object_id, ref, old.key_id, old.wrapped)
        return self._run(_COMPARE_AND_SET, params) == 1

    def discard(self, object_id: str, ref: str) -> None:
        """Delete one record."""
        self._run(_DELETE_ONE, (object_id, ref))

    def delete(self, object_id: str, *, keep_ref: str | None = None) -> int:
        """Delete the object's records (except `keep_ref`)."""
        if keep_ref is None:
            return self._run(_DELETE_OBJECT, (object_id,))
        return self._run(_DELETE_OBJECT_BUT, (object_id, keep_ref))

    def delete_prefix(self, prefix: str) -> int:
        """Delete the records of every object equal to or under `prefix` ("" is refused)."""
        clean = prefix.rstrip("/")
        if not clean:
            raise ValueError("refusing to delete the keys of every object")
        return self._run(_DELETE_PREFIX, (clean, clean + "/", clean + "0"))

    def count_by_key(self) -> dict[str, int]:
        """Records per KEK id."""
        rows = self._execute(_COUNT, ()).fetchall()
        return {str(key_id): int(count) for key_id, count in rows}

    def close(self) -> None:
        """Close every thread's connection, as before the database goes away (a session left
        open blocks DROP DATABASE). Only while no call is running; later calls reconnect."""
        with self._open_lock:
            held = list(self._open)
        for each in held:
            each.conn.close()


class _ThreadConnection:
    """Holds one thread's connection and closes it when the thread ends (its thread-local
    values are dropped then); a psycopg connection left to the garbage collector warns."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def __del__(self) -> None:
        self.conn.close()
