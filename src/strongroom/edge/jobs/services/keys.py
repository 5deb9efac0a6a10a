"""Which key-encryption key wraps how many stored objects (`strongroom keys status`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from strongroom.crypto.envelope import DecryptionError
from strongroom.edge.jobs.services.objects import object_store
from strongroom.storage.interface import ObjectNotFound

UNREADABLE = "(unreadable header)"
ROOTS = ("tasks", "uploads")  # every object the edge stores lives under one of these


@dataclass(frozen=True)
class KeyUsage:
    primary: str
    usable: tuple[str, ...]
    objects_by_key: dict[str, int]


def key_usage() -> KeyUsage:
    """Count stored objects per wrapping key, reading only each object's header."""
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
    )
