"""System checks with stable IDs, run by `strongroom init` and `serve` before accepting work.

strongroom.E001  the object key-encryption key can't wrap and unwrap (KMS unreachable, token
                 refused, key missing): nothing could be stored or read.
strongroom.E002  DEBUG is on (it would leak settings and stack traces to clients).
strongroom.E003  the object store's bucket (STRONGROOM_OBJECT_STORE) can't be reached, doesn't
                 exist, or refuses the credentials.
strongroom.E004  the wrapped-key store (the database table or the SQLCipher file holding the
                 objects' data keys) can't be read.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from strongroom.crypto.providers import verify_kek
from strongroom.edge.jobs.services.objects import (
    backend,
    backend_location,
    key_store_conninfo,
    object_store,
    wrapped_keys,
)
from strongroom.storage.s3 import S3Store
from strongroom.storage.s3_location import verify_bucket


@register("strongroom")
def object_key_usable(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:  # noqa: ARG001
    try:
        verify_kek(object_store().keyring.primary)
    except Exception as exc:  # any failure here is the finding itself
        return [
            Error(
                f"the object key-encryption key is not usable: {exc}",
                hint="Check STRONGROOM_KEK and its provider settings.",
                id="strongroom.E001",
            )
        ]
    return []


@register("strongroom")
def debug_off(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:  # noqa: ARG001
    if settings.DEBUG:
        return [
            Error("DEBUG is on", hint="Strongroom never runs with DEBUG.", id="strongroom.E002")
        ]
    return []


@register("strongroom")
def object_store_reachable(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:  # noqa: ARG001
    store = backend(backend_location())
    if not isinstance(store, S3Store):
        return []  # the local folder is created with the data directory
    try:
        verify_bucket(store)
    except Exception as exc:  # any failure is the finding; S3 errors never carry credentials
        return [
            Error(
                f"the object store is not usable: {exc}",
                hint=(
                    "Check STRONGROOM_OBJECT_STORE (s3://host/bucket/folder), that the bucket "
                    "exists, and STRONGROOM_OBJECT_STORE_ACCESS_KEY_ID / _SECRET_ACCESS_KEY."
                ),
                id="strongroom.E003",
            )
        ]
    return []


@register("strongroom")
def wrapped_keys_readable(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:  # noqa: ARG001
    try:
        # A point lookup: also creates the PostgreSQL table on first start.
        wrapped_keys(key_store_conninfo()).get("strongroom-start-up-check", "none")
    except Exception as exc:  # any failure is the finding
        return [
            Error(
                f"the wrapped-key store is not usable: {type(exc).__name__}: {exc}",
                hint="Check DATABASE_URL (cluster) or the data directory's db/ folder.",
                id="strongroom.E004",
            )
        ]
    return []
