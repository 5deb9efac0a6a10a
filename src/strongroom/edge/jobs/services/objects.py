"""The edge's object store: the configured backend, always wrapped in envelope encryption."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from strongroom.crypto.keyfile import derive_key
from strongroom.crypto.providers import KekConfig, build_keyring
from strongroom.edge.settings.kek import wrapped_keys_file
from strongroom.storage.encrypted import EncryptedStore
from strongroom.storage.local import LocalStore
from strongroom.storage.wrapped_keys import SqlCipherWrappedKeys

KeyFileStamp = tuple[tuple[int, int, int] | None, ...]


def object_store() -> EncryptedStore:
    """The store, rebuilt when a local object key file changed (another process rotated or
    retired a key): a serving process must pick up the new primary key, and unwrap data keys
    a background rotation has already moved to it, without a restart."""
    configs: tuple[KekConfig, ...] = (settings.OBJECT_KEK, *settings.OBJECT_KEK_RETIRED)
    return _store(configs, settings.OBJECT_STORE_ROOT, _kek_file_stamp(configs))


def _kek_file_stamp(configs: tuple[KekConfig, ...]) -> KeyFileStamp:
    return tuple(_stat(config.kek_file) for config in configs if config.kek_file is not None)


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_ino, info.st_mtime_ns, info.st_size)


@lru_cache(maxsize=1)
def _store(configs: tuple[KekConfig, ...], root: Path, stamp: KeyFileStamp) -> EncryptedStore:
    del stamp  # only part of the cache key
    keyring = build_keyring(configs[0], configs[1:], env=os.environ)
    return EncryptedStore(LocalStore(root), keyring, _wrapped_keys())


@lru_cache(maxsize=1)
def _wrapped_keys() -> SqlCipherWrappedKeys:
    cipher_key = derive_key(settings.MASTER_KEY, "sqlcipher-wrapped-keys")
    return SqlCipherWrappedKeys(wrapped_keys_file(settings.DATA), cipher_key)
