"""Django database backend for SQLCipher: Django's SQLite backend on an encrypted file.

Django's sqlite3 backend is bound to the standard library's `sqlite3`; SQLCipher ships its own
DB-API module (`sqlcipher3`) with the same interface. This backend swaps the module, keys every
new connection before anything else touches it, and re-registers the type converters Django
registers on `sqlite3` (those registries are per module). Everything else is Django's own code.

`OPTIONS["cipher_key"]` is the raw 32-byte key (derived from the master key by the settings).
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Mapping
from itertools import tee
from typing import Any

from django.db.backends.sqlite3 import base as sqlite_base
from django.db.backends.sqlite3._functions import register as register_functions
from django.utils.regex_helper import _lazy_re_compile
from sqlcipher3 import dbapi2 as Database  # noqa: N812  (the name Django's backends use)

Database.register_converter("bool", b"1".__eq__)
Database.register_converter("date", sqlite_base.decoder(sqlite_base.parse_date))
Database.register_converter("time", sqlite_base.decoder(sqlite_base.parse_time))
Database.register_converter("datetime", sqlite_base.decoder(sqlite_base.parse_datetime))
Database.register_converter("timestamp", sqlite_base.decoder(sqlite_base.parse_datetime))
Database.register_adapter(decimal.Decimal, str)
Database.register_adapter(datetime.date, sqlite_base.adapt_date)
Database.register_adapter(datetime.datetime, sqlite_base.adapt_datetime)

FORMAT_QMARK_REGEX = _lazy_re_compile(r"(?<!%)%s")


class CipherKeyMissing(Exception):
    """The database settings carry no SQLCipher key: refuse to open an unencrypted file."""


class DatabaseWrapper(sqlite_base.DatabaseWrapper):
    vendor = "sqlite"
    display_name = "SQLCipher"
    Database = Database

    def get_connection_params(self) -> dict[str, Any]:
        options = self.settings_dict["OPTIONS"]
        key = options.get("cipher_key")
        if not isinstance(key, bytes) or len(key) != 32:
            raise CipherKeyMissing("SQLCipher needs OPTIONS['cipher_key'] (32 bytes)")
        self._cipher_key = key
        trimmed = {
            **self.settings_dict,
            "OPTIONS": {k: v for k, v in options.items() if k != "cipher_key"},
        }
        original, self.settings_dict = self.settings_dict, trimmed
        try:
            return super().get_connection_params()
        finally:
            self.settings_dict = original

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        conn = Database.connect(**conn_params)
        # The key must be the first statement on a SQLCipher connection. A raw key (x'..') skips
        # SQLCipher's PBKDF2 step, which is right: it is already a uniformly random derived key.
        conn.execute(f"PRAGMA key = \"x'{self._cipher_key.hex()}'\"")
        register_functions(conn)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA legacy_alter_table = OFF")
        for init_command in self.init_commands:
            if init_command := init_command.strip():
                conn.execute(init_command)
        return conn

    def create_cursor(self, name: str | None = None) -> Any:  # noqa: ARG002  (Django's signature)
        return self.connection.cursor(factory=SQLCipherCursorWrapper)


class SQLCipherCursorWrapper(Database.Cursor):  # type: ignore[misc]  # C type without stubs
    """Django's `SQLiteCursorWrapper`, rebased on sqlcipher3's cursor (same format conversion)."""

    def execute(self, query: str, params: Any = None) -> Any:
        if params is None:
            return super().execute(query)
        param_names = list(params) if isinstance(params, Mapping) else None
        return super().execute(self.convert_query(query, param_names=param_names), params)

    def executemany(self, query: str, param_list: Any) -> Any:
        peekable, param_list = tee(iter(param_list))
        first = next(peekable, None)
        param_names = list(first) if first and isinstance(first, Mapping) else None
        return super().executemany(self.convert_query(query, param_names=param_names), param_list)

    def convert_query(self, query: str, *, param_names: list[str] | None = None) -> str:
        if param_names is None:
            return FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")
        return query % {name: f":{name}" for name in param_names}
