"""`keys rotate` / `keys retire` / crypto-shredding, through the services, over real stored
objects in a real object folder and key store, with the real database."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from strongroom.crypto.envelope import Keyring, KeyUnavailableError, LocalKek
from strongroom.crypto.local_keks import LocalKekFile, read_local_keks
from strongroom.edge.accounts.models import Organization, Project
from strongroom.edge.audit.models import AuditEvent
from strongroom.edge.jobs.models import KeyRotation, RotationStatus, Task, Upload, WorkItem
from strongroom.edge.jobs.services import key_rotation
from strongroom.edge.jobs.services.keys import RetireRefused, key_usage, retire_key
from strongroom.edge.jobs.services.objects import object_store
from strongroom.edge.jobs.services.shredding import delete_project, shred_project
from strongroom.edge.jobs.states import WorkItemStatus
from strongroom.storage.encrypted import EncryptedStore
from strongroom.storage.local import LocalStore

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

ACTOR = "cli:tester"


@pytest.fixture(autouse=True)
def private_keys_and_objects(tmp_path: Path, settings: Any) -> Iterator[None]:
    """Each test rotates its own object key file over its own object folder."""
    settings.OBJECT_KEK = dataclasses.replace(settings.OBJECT_KEK, kek_file=tmp_path / "keks.json")
    settings.OBJECT_STORE_ROOT = tmp_path / "objects"
    yield
    for root in ("tasks", "uploads"):
        object_store().delete_prefix(root)  # also their key store records


@pytest.fixture
def no_enqueue(django_capture_on_commit_callbacks: Any) -> Iterator[None]:
    # The background job is driven by hand here (slice by slice), not by the queue.
    with django_capture_on_commit_callbacks(execute=False):
        yield


def raw(key: str) -> bytes:
    return (settings.OBJECT_STORE_ROOT / key).read_bytes()


def read(store: EncryptedStore, key: str) -> bytes:
    return b"".join(store.read(key))


def legacy_put(key: str, data: bytes) -> None:
    """An object in today's format 1 (data key in the header), under the current primary."""
    EncryptedStore(LocalStore(settings.OBJECT_STORE_ROOT), object_store().keyring).put(key, [data])


def stored_objects() -> dict[str, bytes]:
    store = object_store()
    contents = {f"tasks/t{i}/a1/out0/seg{i}.ts": secrets.token_bytes(3000 + i) for i in range(5)}
    for key, data in contents.items():
        store.put(key, [data])
    contents["uploads/u1/part"] = b"legacy upload part"
    legacy_put("uploads/u1/part", contents["uploads/u1/part"])
    contents["tasks/t9/a1/out0/big.mp4"] = secrets.token_bytes((1 << 20) * 2 + 5)
    store.put("tasks/t9/a1/out0/big.mp4", [contents["tasks/t9/a1/out0/big.mp4"]])
    return contents


def run_to_the_end(rotation_id: int) -> None:
    while key_rotation.run_rotation(rotation_id, seconds=0, batch_size=2):
        pass


def test_a_rotation_rewraps_every_object_without_rewriting_it_and_survives_interruption(
    no_enqueue: None,
) -> None:
    contents = stored_objects()
    media = {key: raw(key) for key in contents}
    old_key = object_store().keyring.primary.key_id

    start = key_rotation.start_rotation(actor=ACTOR)
    rotation = start.rotation
    new_key = rotation.target_key_id
    assert not start.resumed and rotation.previous_key_id == old_key
    assert new_key.startswith("lk-") and object_store().keyring.primary.key_id == new_key

    # The first slice does one batch, then the runner "dies" (the slice ends).
    assert key_rotation.run_rotation(rotation.pk, seconds=0, batch_size=3)
    rotation.refresh_from_db()
    assert (rotation.status, rotation.done, rotation.total) == (RotationStatus.RUNNING, 3, 7)
    assert key_usage().objects_by_key == {old_key: 4, new_key: 3}
    with pytest.raises(RetireRefused, match="4 stored object"):
        retire_key(old_key, actor=ACTOR)
    # `keys rotate` again resumes the unfinished rotation rather than adding another key.
    assert key_rotation.start_rotation(actor=ACTOR).resumed

    run_to_the_end(rotation.pk)

    rotation.refresh_from_db()
    assert rotation.status == RotationStatus.FINISHED
    assert (rotation.done, rotation.rewrapped, rotation.failed) == (7, 7, 0)
    assert key_usage().objects_by_key == {new_key: 7}
    assert {key: raw(key) for key in contents} == media  # not one stored byte changed
    store = object_store()
    only_new = EncryptedStore(
        LocalStore(settings.OBJECT_STORE_ROOT), Keyring(store.keyring.get(new_key)), store._keys
    )
    assert {key: read(only_new, key) for key in contents} == contents
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert "keys.rotate_started" in actions and "keys.rotate_finished" in actions


def test_redoing_a_slice_after_a_crash_is_harmless(no_enqueue: None) -> None:
    contents = stored_objects()
    rotation = key_rotation.start_rotation(actor=ACTOR).rotation
    key_rotation.run_rotation(rotation.pk, seconds=0, batch_size=4)
    # A crash after re-wrapping but before the progress was saved: the cursor is behind.
    KeyRotation.objects.filter(pk=rotation.pk).update(cursor="", done=0, rewrapped=0)

    run_to_the_end(rotation.pk)

    rotation.refresh_from_db()
    assert (rotation.done, rotation.rewrapped, rotation.failed) == (7, 3, 0)
    assert {key: read(object_store(), key) for key in contents} == contents


def test_a_claimed_rotation_is_not_run_twice_and_a_stalled_one_is_found(no_enqueue: None) -> None:
    stored_objects()
    rotation = key_rotation.start_rotation(actor=ACTOR).rotation
    later = timezone.now() + key_rotation.CLAIM
    KeyRotation.objects.filter(pk=rotation.pk).update(claimed_until=later)
    assert not key_rotation.run_rotation(rotation.pk)  # someone else holds it
    assert KeyRotation.objects.get(pk=rotation.pk).done == 0
    assert key_rotation.stalled_rotations() == []
    long_ago = timezone.now() - key_rotation.CLAIM * 2
    KeyRotation.objects.filter(pk=rotation.pk).update(claimed_until=long_ago)
    KeyRotation.objects.filter(pk=rotation.pk).update(updated_at=long_ago)  # auto_now skipped
    assert key_rotation.stalled_rotations() == [rotation.pk]


def test_objects_that_cannot_be_rewrapped_are_reported_and_left_alone(no_enqueue: None) -> None:
    store = object_store()
    store.put("tasks/ok/a1/out0/x", [b"fine"])
    gone = LocalKek("mk-0ff0ff00", secrets.token_bytes(32))
    EncryptedStore(LocalStore(settings.OBJECT_STORE_ROOT), Keyring(gone)).put(
        "tasks/lost/p", [b"?"]
    )
    (settings.OBJECT_STORE_ROOT / "tasks" / "junk").write_bytes(b"not an envelope at all")
    before = raw("tasks/lost/p"), raw("tasks/junk")
    rotation = key_rotation.start_rotation(actor=ACTOR).rotation

    run_to_the_end(rotation.pk)

    rotation.refresh_from_db()
    assert rotation.status == RotationStatus.FINISHED
    assert (rotation.done, rotation.rewrapped, rotation.failed) == (3, 1, 2)
    assert "tasks/lost/p" in rotation.last_error or "tasks/junk" in rotation.last_error
    assert (raw("tasks/lost/p"), raw("tasks/junk")) == before
    event = AuditEvent.objects.get(action="keys.rotate_finished")
    assert event.details["failed"] == 2


def test_the_master_derived_key_is_retired_not_destroyed_and_rotated_keys_are_destroyed(
    no_enqueue: None,
) -> None:
    stored_objects()
    derived = object_store().keyring.primary.key_id
    first = key_rotation.start_rotation(actor=ACTOR).rotation
    run_to_the_end(first.pk)
    second = key_rotation.start_rotation(actor=ACTOR).rotation
    assert second.previous_key_id == first.target_key_id
    run_to_the_end(second.pk)

    with pytest.raises(RetireRefused, match="primary"):
        retire_key(second.target_key_id, actor=ACTOR)
    retire_key(first.target_key_id, actor=ACTOR)
    retire_key(derived, actor=ACTOR)
    with pytest.raises(RetireRefused, match="not in the keyring"):
        retire_key(derived, actor=ACTOR)

    assert object_store().keyring.key_ids == [second.target_key_id]
    kek_file = settings.OBJECT_KEK.kek_file
    doc = read_local_keks(LocalKekFile(kek_file, settings.MASTER_KEY))
    assert [kek.key_id for kek in doc.keys] == [second.target_key_id]
    assert doc.retired == {derived}
    assert settings.MASTER_KEY.key_id == derived  # the master key itself never changes
    assert AuditEvent.objects.filter(action="keys.retired").count() == 2


def _project_with_media(name: str) -> tuple[Project, dict[str, bytes]]:
    org, _ = Organization.objects.get_or_create(name="shred-org")
    project = Project.objects.create(organization=org, name=name)
    task = Task.objects.create(project=project, token=secrets.token_hex(16))
    upload = Upload.objects.create(task=task, uuid=secrets.token_hex(16), length=4, offset=4)
    WorkItem.objects.create(task=task, status=WorkItemStatus.LEASED, lease_id=secrets.token_hex(8))
    media = {
        f"tasks/{task.token}/a1/out0/video.mp4": secrets.token_bytes(5000),
        f"uploads/{upload.uuid}/00000000000000000000-abcd": b"part",
    }
    for key, data in media.items():
        object_store().put(key, [data])
    return project, media


def test_shredding_a_project_destroys_its_keys_and_objects_only(tmp_path: Path) -> None:
    doomed, media = _project_with_media("doomed")
    kept, kept_media = _project_with_media("kept")
    backup = {key: raw(key) for key in media}

    result = shred_project(doomed, actor=ACTOR)

    assert (result.tasks, result.uploads, result.objects) == (1, 1, 2)
    store = object_store()
    assert all(not store.exists(key) for key in media)
    assert {key: read(store, key) for key in kept_media} == kept_media
    for key, blob in backup.items():  # a copy that survived elsewhere stays unreadable
        path = settings.OBJECT_STORE_ROOT / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
        with pytest.raises(KeyUnavailableError, match="shredded") as info:
            read(store, key)
        assert info.value.object_id == key
    assert not WorkItem.objects.filter(task__project=doomed, lease_id__isnull=False).exists()
    assert WorkItem.objects.get(task__project=kept).status == WorkItemStatus.LEASED
    event = AuditEvent.objects.get(action="project.shredded")
    assert event.details["objects"] == 2 and event.target == f"project:{doomed.pk}"
    assert shred_project(doomed, actor=ACTOR).objects == 2  # the restored copies
    assert shred_project(doomed, actor=ACTOR).objects == 0  # again: nothing left


def test_deleting_a_project_shreds_it_then_removes_it() -> None:
    project, media = _project_with_media("gone")
    delete_project(project, actor=ACTOR)
    assert not Project.objects.filter(name="gone").exists()
    assert not Task.objects.filter(project_id=project.pk).exists()
    assert all(not object_store().exists(key) for key in media)
    assert AuditEvent.objects.filter(action="project.deleted").count() == 1


def test_new_objects_after_a_rotation_use_the_new_key(no_enqueue: None) -> None:
    rotation = key_rotation.start_rotation(actor=ACTOR).rotation
    object_store().put("tasks/new/a1/out0/x", [b"fresh"])
    assert object_store().key_id_of("tasks/new/a1/out0/x") == rotation.target_key_id


def test_a_rotation_whose_target_key_is_gone_fails_and_says_so(
    no_enqueue: None, settings: Any, tmp_path: Path
) -> None:
    stored_objects()
    rotation = key_rotation.start_rotation(actor=ACTOR).rotation
    # The object key file is replaced by an empty one (restored from an old backup, say).
    settings.OBJECT_KEK = dataclasses.replace(settings.OBJECT_KEK, kek_file=tmp_path / "other.json")

    assert not key_rotation.run_rotation(rotation.pk)

    rotation.refresh_from_db()
    assert rotation.status == RotationStatus.FAILED
    assert rotation.target_key_id in rotation.last_error
    assert AuditEvent.objects.filter(action="keys.rotate_failed").exists()
    assert key_rotation.start_rotation(actor=ACTOR).resumed is False  # a new one may start


def test_a_broken_object_key_file_refuses_the_rotation_without_a_traceback(
    no_enqueue: None, settings: Any
) -> None:
    kek_file = settings.OBJECT_KEK.kek_file
    kek_file.write_text("{not json")
    kek_file.chmod(0o600)
    with pytest.raises(key_rotation.RotationRefused, match="malformed"):
        key_rotation.start_rotation(actor=ACTOR)
    assert not KeyRotation.objects.exists()
    kek_file.unlink()
