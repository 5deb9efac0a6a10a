"""The edge's object store: the configured backend, always wrapped in envelope encryption.

Backend: the data directory's folder, or the bucket of STRONGROOM_OBJECT_STORE. Wrapped data
keys follow the database: with PostgreSQL (the cluster profile) they are a table every edge
shares, else an SQLCipher file beside the database. Either way the store is called through
the WrappedKeyStore protocol only, so rotation, `keys status` and shredding work on both.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from psycopg.conninfo import make_conninfo

from strongroom.crypto.keyfile import derive_key
from strongroom.crypto.providers import KekConfig, build_keyring
from strongroom.edge.settings.kek import wrapped_keys_file
from strongroom.storage.encrypted import EncryptedStore
from strongroom.storage.interface import ObjectStore
from strongroom.storage.local import LocalStore
from strongroom.storage.postgres_keys import PostgresWrappedKeys
from strongroom.storage.s3_location import S3Location, open_s3_store
from strongroom.storage.wrapped_keys import SqlCipherWrappedKeys, WrappedKeyStore

KeyFileStamp = tuple[tuple[int, int, int] | None, ...]
Backend = S3Location | Path
_POSTGRES_ENGINE = "django.db.backends.postgresql"
# DATABASES OPTIONS that Django's backend consumes itself; the rest are libpq parameters.
_DJANGO_ONLY_OPTIONS = frozenset({"isolation_level", "server_side_binding", "assume_role", "pool"})


def object_store() -> EncryptedStore:
    """The store, rebuilt when a local object key file changed (another process rotated or
    retired a key): a serving process must pick up the new primary key, and unwrap data keys
    a background rotation has already moved to it, without a restart."""
    configs: tuple[KekConfig, ...] = (settings.OBJECT_KEK, *settings.OBJECT_KEK_RETIRED)
    return _store(configs, backend_location(), key_store_conninfo(), _kek_file_stamp(configs))


def backend_location() -> Backend:
    """The configured bucket, else the local object folder."""
    location: S3Location | None = settings.OBJECT_STORE
    return location if location is not None else Path(settings.OBJECT_STORE_ROOT)


def key_store_conninfo() -> str | None:
    """The PostgreSQL connection string of Django's own database, or None (SQLCipher). Read
    from DATABASES each time, so the test runner's database rename is followed too."""
    database: dict[str, Any] = settings.DATABASES["default"]
    if database["ENGINE"] != _POSTGRES_ENGINE:
        return None
    options = {
        k: v
        for k, v in database.get("OPTIONS", {}).items()
        if k not in _DJANGO_ONLY_OPTIONS and isinstance(v, str | int)
    }
    fields = {
        "dbname": database.get("NAME"),
        "user": database.get("USER"),
        "password": database.get("PASSWORD"),
        "host": database.get("HOST"),
        "port": database.get("PORT"),
    }
    return make_conninfo("", **options, **{k: v for k, v in fields.items() if v})


def _kek_file_stamp(configs: tuple[KekConfig, ...]) -> KeyFileStamp:
    return tuple(_stat(config.kek_file) for config in configs if config.kek_file is not None)


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_ino, info.st_mtime_ns, info.st_size)


@lru_cache(maxsize=1)
def _store(
    configs: tuple[KekConfig, ...], location: Backend, conninfo: str | None, stamp: KeyFileStamp
) -> EncryptedStore:
    del stamp  # only part of the cache key
    keyring = build_keyring(configs[0], configs[1:], env=os.environ)
    return EncryptedStore(backend(location), keyring, wrapped_keys(conninfo))


@lru_cache(maxsize=2)
def backend(location: Backend) -> ObjectStore:
    """The plain backend (cached apart from the keyring: an S3 client takes a while to build,
    and a key rotation must not rebuild it)."""
    if isinstance(location, S3Location):
        return open_s3_store(location)
    return LocalStore(location)


@lru_cache(maxsize=2)
def wrapped_keys(conninfo: str | None) -> WrappedKeyStore:
    """The wrapped-key store of the database `conninfo` (None: the SQLCipher file)."""
    if conninfo is not None:
        return PostgresWrappedKeys(conninfo)
    cipher_key = derive_key(settings.MASTER_KEY, "sqlcipher-wrapped-keys")
    return SqlCipherWrappedKeys(wrapped_keys_file(settings.DATA), cipher_key)


def close_key_store() -> None:
    """Close the PostgreSQL key store's connections, before the database goes away (the
    test runner drops its database at the end, and open sessions would block that)."""
    conninfo = key_store_conninfo()
    store = wrapped_keys(conninfo) if conninfo is not None else None
    if isinstance(store, PostgresWrappedKeys):
        store.close()
