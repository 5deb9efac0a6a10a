"""System checks with stable IDs, run by `strongroom init` and `serve` before accepting work.

strongroom.E001  the object key-encryption key can't wrap and unwrap (KMS unreachable, token
                 refused, key missing): nothing could be stored or read.
strongroom.E002  DEBUG is on (it would leak settings and stack traces to clients).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from strongroom.crypto.providers import verify_kek
from strongroom.edge.jobs.services.objects import object_store


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
