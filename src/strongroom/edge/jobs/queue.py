"""The background queue (Huey): the only module that knows the queue library.

Embedded profile: Huey on SQLite, but through SQLCipher so queued messages are encrypted at rest
like everything else (the cluster profile's Redis queue comes with the scale-out work).
Messages are JSON, never pickle, and carry ids only (DESIGN.md §6 rule 4).
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from huey import SqliteHuey
from huey.registry import Message
from huey.serializer import Serializer
from huey.storage import SqliteStorage
from sqlcipher3 import dbapi2 as sqlcipher

from strongroom.edge.datadir import DataDir
from strongroom.edge.settings.env import ConfigError, Env

_DATETIME_FIELDS = ("eta", "expires_resolved")


class JsonSerializer(Serializer):  # type: ignore[misc]  # huey ships no type hints
    """Huey messages as JSON: task arguments must be plain ids and strings."""

    def _serialize(self, data: Any) -> bytes:
        fields = data._asdict()
        for name in _DATETIME_FIELDS:
            if isinstance(fields.get(name), datetime.datetime):
                fields[name] = {"$dt": fields[name].isoformat()}
        if fields.get("chord_config") is not None:
            raise TypeError("chords are not used by Strongroom")
        return json.dumps(fields, separators=(",", ":")).encode()

    def _deserialize(self, data: bytes) -> Any:
        fields = json.loads(data)
        for name in _DATETIME_FIELDS:
            value = fields.get(name)
            if isinstance(value, dict) and "$dt" in value:
                fields[name] = datetime.datetime.fromisoformat(value["$dt"])
        fields["args"] = tuple(fields.get("args") or ())
        return Message(**fields)


class SqlCipherStorage(SqliteStorage):  # type: ignore[misc]
    """Huey's SQLite storage on an encrypted database file."""

    def __init__(self, *args: Any, cipher_key: bytes, **kwargs: Any) -> None:
        self._cipher_key = cipher_key
        super().__init__(*args, **kwargs)

    def _create_connection(self) -> Any:
        conn = sqlcipher.connect(self.filename, timeout=self._timeout, check_same_thread=False)
        conn.execute(f"PRAGMA key = \"x'{self._cipher_key.hex()}'\"")
        conn.isolation_level = None
        self._set_journal_mode(conn)
        return conn


class SqlCipherHuey(SqliteHuey):  # type: ignore[misc]
    storage_class = SqlCipherStorage


def build_huey(env: Env, data: DataDir, cipher_key: bytes) -> Any:
    immediate = env.bool("HUEY_IMMEDIATE", default=False)
    if env.plain("REDIS_URL"):
        # The cluster profile's queue (Huey on Redis) arrives with the scale-out work; refusing
        # beats silently queueing on a local file that other hosts can't see.
        raise ConfigError("REDIS_URL is set, but this version queues only on the embedded file")
    return SqlCipherHuey(
        "strongroom",
        filename=str(data.task_queue),
        cipher_key=cipher_key,
        serializer=JsonSerializer(),
        immediate=immediate,
        utc=True,
    )
