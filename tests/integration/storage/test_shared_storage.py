"""The cluster's storage: objects in one SeaweedFS bucket and their wrapped keys in one key
store, used by several edges at once. Rotation, `keys status` and crypto-shredding run through
the real services over both key stores (SQLCipher, PostgreSQL) with the bucket as backend."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from strongroom.crypto.envelope import CHUNK_SIZE, Keyring, KeyUnavailableError, LocalKek
from strongroom.edge.accounts.services import ensure_project
from strongroom.edge.jobs.models import RotationStatus, Task
from strongroom.edge.jobs.services import key_rotation, objects
from strongroom.edge.jobs.services.keys import key_usage
from strongroom.edge.jobs.services.shredding import shred_project
from strongroom.storage.encrypted import EncryptedStore
from strongroom.storage.postgres_keys import PostgresWrappedKeys
from strongroom.storage.s3 import S3Store
from strongroom.storage.s3_location import S3Location
from tests.integration.storage.postgres import fresh_database
from tests.integration.storage.seaweed import SEAWEED, S3Server

pytestmark = [SEAWEED, pytest.mark.integration]
SIGNATURES = (b"ftypisom", b"#EXTM3U")


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    yield from fresh_database()


def raw_objects(store: S3Store) -> dict[str, bytes]:
    """Every object under the store's prefix, exactly as the bucket holds it."""
    return {key: b"".join(store.read(key)) for key in store.list("")}


def media(kind: str) -> bytes:
    """Bytes that start like what the edge stores: an MP4 and an HLS playlist."""
    if kind == "mp4":
        return b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00" + secrets.token_bytes(2 * CHUNK_SIZE)
    return b"#EXTM3U\n#EXT-X-VERSION:3\n" + b"#EXTINF:1.0,\nseg.ts\n" * 50


def test_two_edges_share_objects_and_keys_and_the_bucket_holds_only_ciphertext(
    s3_server: S3Server, postgres_url: str
) -> None:
    kek = LocalKek("mk-shared", secrets.token_bytes(32))
    prefix = f"shared-{secrets.token_hex(4)}"

    def edge() -> tuple[EncryptedStore, S3Store]:
        # Each edge has its own S3 client and its own key-store connections.
        backend = S3Store(s3_server.bucket, prefix=prefix, settings=s3_server.settings)
        return EncryptedStore(backend, Keyring(kek), PostgresWrappedKeys(postgres_url)), backend

    (edge_a, bucket), (edge_b, _) = edge(), edge()
    contents = {"tasks/t1/out.mp4": media("mp4"), "tasks/t1/index.m3u8": media("m3u8")}
    for key, data in contents.items():
        edge_a.put(key, [data])
    assert {key: b"".join(edge_b.read(key)) for key in contents} == contents
    assert b"".join(edge_b.read("tasks/t1/out.mp4", 4, 12)) == b"ftypisom"  # ranged, too

    stored = raw_objects(bucket)
    assert sorted(stored) == sorted(contents)
    for key, data in stored.items():
        assert data.startswith(b"SRE1"), key  # an envelope, nothing else
        assert not any(signature in data for signature in SIGNATURES), key

    edge_b.delete_prefix("tasks/t1")  # shredded through one edge: gone for the other
    assert edge_a.list("tasks") == [] and raw_objects(bucket) == {}


# ------------------------------------------------------------------ the services, both key stores


@pytest.fixture(params=["sqlcipher", "postgres"])
def edge_storage(
    request: pytest.FixtureRequest,
    settings: Any,
    tmp_path: Path,
    s3_server: S3Server,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[S3Store]:
    """The edge's object store on the bucket (its own folder) over the given key store."""
    settings.OBJECT_KEK = dataclasses.replace(settings.OBJECT_KEK, kek_file=tmp_path / "keks.json")
    settings.OBJECT_STORE = S3Location(
        s3_server.bucket, f"edge-{secrets.token_hex(4)}", s3_server.settings
    )
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        # The database the key store follows: Django's own is SQLCipher in this suite.
        monkeypatch.setattr(objects, "key_store_conninfo", lambda: url)
    backend = objects.backend(objects.backend_location())
    assert isinstance(backend, S3Store)
    yield backend
    objects.object_store().delete_prefix("tasks")


@pytest.mark.django_db
def test_rotation_status_and_shredding_work_over_the_bucket_and_either_key_store(
    edge_storage: S3Store, django_capture_on_commit_callbacks: Any
) -> None:
    task = Task.objects.create(project=ensure_project("default", "shared"), token="s" * 32)
    contents = {f"tasks/{task.token}/a1/out0/seg{i}.ts": secrets.token_bytes(999) for i in range(5)}
    for key, data in contents.items():
        objects.object_store().put(key, [data])
    before = raw_objects(edge_storage)
    old_key = objects.object_store().keyring.primary.key_id
    assert key_usage().objects_by_key == {old_key: 5}

    with django_capture_on_commit_callbacks(execute=False):  # the job is driven by hand
        # One process here, so its object key file is "shared" by every store it builds.
        start = key_rotation.start_rotation(actor="cli:tester", key_file_is_shared=True)
        rotation = start.rotation
    while key_rotation.run_rotation(rotation.pk, seconds=0, batch_size=2):
        pass
    rotation.refresh_from_db()
    assert (rotation.status, rotation.rewrapped) == (RotationStatus.FINISHED, 5)
    with pytest.raises(key_rotation.RotationRefused, match="cluster profile"):
        key_rotation.start_rotation(actor="cli:tester")  # a bucket: the key file must be shared
    assert key_usage().objects_by_key == {rotation.target_key_id: 5}
    assert raw_objects(edge_storage) == before  # not one stored byte was rewritten
    store = objects.object_store()
    assert {key: b"".join(store.read(key)) for key in contents} == contents

    old_copies = {key: raw_objects(edge_storage)[key] for key in contents}
    shredded = shred_project(task.project, actor="cli:tester")
    assert shredded.objects == 5 and raw_objects(edge_storage) == {}
    for key, data in old_copies.items():  # a surviving copy of the bucket no longer decrypts
        edge_storage.put(key, [data])
        with pytest.raises(KeyUnavailableError, match="shredded"):
            b"".join(store.read(key))
