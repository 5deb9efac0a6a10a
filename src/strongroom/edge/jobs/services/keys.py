"""Which key-encryption key wraps how many stored objects (`strongroom keys status`), and
retiring a key nothing uses any more (`strongroom keys retire`)."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

from django.conf import settings

from strongroom.crypto.envelope import DecryptionError
from strongroom.crypto.local_keks import retire_local_kek
from strongroom.crypto.providers import KekConfig, KekKind, local_kek_file
from strongroom.edge.audit.services import record_event
from strongroom.edge.jobs.models import KeyRotation, RotationStatus
from strongroom.edge.jobs.services.objects import object_store
from strongroom.storage.interface import ObjectNotFound

UNREADABLE = "(unreadable header)"
ROOTS = ("tasks", "uploads")  # every object the edge stores lives under one of these


class RetireRefused(Exception):
    """The key cannot be retired (yet); the message says why."""


@dataclass(frozen=True)
class KeyUsage:
    primary: str
    usable: tuple[str, ...]
    objects_by_key: dict[str, int]
    rotation: KeyRotation | None = None  # the latest rotation, finished or not


def key_usage() -> KeyUsage:
    """Count stored objects per wrapping key, reading only each object's header and key
    record (no data key is unwrapped)."""
    store = object_store()
    counts: Counter[str] = Counter()
    for root in ROOTS:
        for key in store.list(root):
            try:
                counts[store.key_id_of(key)] += 1
            except (DecryptionError, ObjectNotFound):
                counts[UNREADABLE] += 1
    keyring = store.keyring
    return KeyUsage(
        primary=keyring.primary.key_id,
        usable=tuple(keyring.key_ids),
        objects_by_key=dict(sorted(counts.items())),
        rotation=KeyRotation.objects.order_by("-pk").first(),
    )


def retire_key(key_id: str, *, actor: str) -> None:
    """Stop unwrapping with local key `key_id`: a rotated key is destroyed, the master-derived
    one marked retired (the master key itself stays: it derives the database key). Refused
    while any stored object still uses the key, while a rotation runs, for the primary key,
    and for KMS keys (retire their versions in the KMS, after `keys rotate`)."""
    usage = key_usage()
    if key_id == usage.primary:
        raise RetireRefused(f"key {key_id} is the primary key; run `strongroom keys rotate` first")
    if key_id not in usage.usable:
        raise RetireRefused(f"key {key_id} is not in the keyring (already retired?)")
    in_use = usage.objects_by_key.get(key_id, 0)
    if in_use:
        raise RetireRefused(
            f"{in_use} stored object(s) still use key {key_id}; "
            "run `strongroom keys rotate --wait` first"
        )
    if KeyRotation.objects.filter(status=RotationStatus.RUNNING).exists():
        raise RetireRefused("a key rotation is still running; wait for it to finish")
    kek_file, derived_id = local_kek_file(_local_config(key_id), env=os.environ)
    try:
        retire_local_kek(kek_file, key_id, derived_id=derived_id)
    except ValueError as exc:
        raise RetireRefused(str(exc)) from None
    record_event(action="keys.retired", actor_type="operator", actor=actor, target=f"kek:{key_id}")


def _local_config(key_id: str) -> KekConfig:
    configs = [settings.OBJECT_KEK, *settings.OBJECT_KEK_RETIRED]
    for config in configs:
        if config.kind is KekKind.LOCAL and config.kek_file is not None:
            return config
    raise RetireRefused(
        f"key {key_id} is not a local key; retire KMS key versions in the KMS itself"
    )
