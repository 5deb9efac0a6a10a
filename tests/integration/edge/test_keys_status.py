"""`strongroom keys status`: which key-encryption key wraps how many stored objects."""

from __future__ import annotations

import secrets

import pytest
from django.conf import settings

from strongroom.crypto.kek import Keyring, LocalKek
from strongroom.edge.jobs.services.keys import UNREADABLE, key_usage
from strongroom.edge.jobs.services.objects import object_store
from strongroom.storage.encrypted import EncryptedStore
from strongroom.storage.local import LocalStore

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def empty_store() -> None:
    for root in ("tasks", "uploads"):
        object_store().delete_prefix(root)


def test_it_counts_objects_per_wrapping_key_and_flags_keys_it_cannot_use() -> None:
    store = object_store()
    store.put("tasks/t1/a1/out0/video.mp4", [b"one"])
    store.put("uploads/u1/part", [b"two"])
    retired = EncryptedStore(
        LocalStore(settings.OBJECT_STORE_ROOT),
        Keyring(LocalKek("mk-gone0000", secrets.token_bytes(32))),
    )
    retired.put("tasks/t2/a1/out0/video.mp4", [b"three"])
    (settings.OBJECT_STORE_ROOT / "tasks" / "t3").mkdir(parents=True)
    (settings.OBJECT_STORE_ROOT / "tasks" / "t3" / "junk").write_bytes(b"not an envelope")

    usage = key_usage()

    assert usage.primary == store.keyring.primary.key_id
    assert usage.objects_by_key == {usage.primary: 2, "mk-gone0000": 1, UNREADABLE: 1}
    assert "mk-gone0000" not in usage.usable
