"""The edge's object store: the configured backend, always wrapped in envelope encryption."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings

from strongroom.crypto.keyfile import object_keyring
from strongroom.storage.encrypted import EncryptedStore
from strongroom.storage.local import LocalStore


@lru_cache(maxsize=1)
def object_store() -> EncryptedStore:
    return EncryptedStore(
        LocalStore(settings.OBJECT_STORE_ROOT), object_keyring(settings.MASTER_KEY)
    )
