"""The edge's object store: the configured backend, always wrapped in envelope encryption."""

from __future__ import annotations

import os
from functools import lru_cache

from django.conf import settings

from strongroom.crypto.providers import build_keyring
from strongroom.storage.encrypted import EncryptedStore
from strongroom.storage.local import LocalStore


@lru_cache(maxsize=1)
def object_store() -> EncryptedStore:
    keyring = build_keyring(settings.OBJECT_KEK, settings.OBJECT_KEK_RETIRED, env=os.environ)
    return EncryptedStore(LocalStore(settings.OBJECT_STORE_ROOT), keyring)
