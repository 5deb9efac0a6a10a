"""tus uploads: an upload belongs to a task; its bytes are stored as encrypted parts."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from strongroom.edge.accounts.apikeys import require_scope
from strongroom.edge.accounts.models import Project
from strongroom.edge.accounts.permissions import Action
from strongroom.edge.jobs.models import Task, Upload
from strongroom.edge.jobs.services.objects import object_store
from strongroom.edge.jobs.states import TaskStatus


class UploadNotFound(Exception):
    """No such upload under that task."""


class UploadTooLarge(Exception):
    """Upload-Length is above Tus-Max-Size."""


class UploadQuotaExceeded(Exception):
    """The project's uploads would take more than STRONGROOM_PROJECT_UPLOAD_QUOTA bytes."""

    def __init__(self, used: int, quota: int) -> None:
        super().__init__(f"project upload quota exceeded ({used} of {quota} bytes in use)")


class OffsetConflict(Exception):
    """Upload-Offset does not match the upload's current offset (or the upload moved on)."""


def create_upload(task_token: str, length: int) -> Upload:
    """Raises UploadTooLarge, UploadNotFound, or ScopeMissing when the task's key lacks uploads."""
    if length > settings.TUS_MAX_SIZE:
        raise UploadTooLarge
    task = (
        Task.objects.select_related("api_key")
        .filter(token=task_token, status=TaskStatus.CREATED)
        .first()
    )
    if task is None:
        raise UploadNotFound(task_token)
    require_scope(task.api_key, Action.UPLOAD)
    # An empty upload is complete at once (the worker will refuse it as media, with a reason).
    sha256 = hashlib.sha256(b"").hexdigest() if length == 0 else ""
    with transaction.atomic():
        _check_quota(task, length)
        return Upload.objects.create(
            task=task, uuid=secrets.token_hex(16), length=length, sha256=sha256
        )


def _check_quota(task: Task, length: int) -> None:
    """Declared lengths count from creation: a project can't reserve more than its quota."""
    Project.objects.select_for_update().filter(pk=task.project_id).first()  # one at a time
    used = (
        Upload.objects.filter(task__project_id=task.project_id).aggregate(total=Sum("length"))[
            "total"
        ]
        or 0
    )
    if used + length > settings.PROJECT_UPLOAD_QUOTA:
        raise UploadQuotaExceeded(used, settings.PROJECT_UPLOAD_QUOTA)


def find_upload(task_token: str, uuid: str) -> Upload:
    upload = Upload.objects.filter(uuid=uuid, task__token=task_token).first()
    if upload is None:
        raise UploadNotFound(uuid)
    return upload


def new_part_key(upload: Upload, offset: int) -> str:
    # A random suffix: two racing PATCHes at one offset never write the same object.
    return f"{upload.storage_prefix}{offset:020d}-{secrets.token_hex(4)}"


def append_part(upload_id: int, offset: int, key: str, size: int, sha256: str) -> int:
    """Make a stored part count, only if the upload is still at `offset`; returns the new offset."""
    with transaction.atomic():
        upload = Upload.objects.filter(pk=upload_id).first()
        if upload is None or upload.offset != offset or offset + size > upload.length:
            raise OffsetConflict
        parts = [*upload.parts, {"key": key, "offset": offset, "size": size, "sha256": sha256}]
        updated = Upload.objects.filter(pk=upload_id, offset=offset).update(
            offset=offset + size, parts=parts
        )
        if not updated:
            raise OffsetConflict
    return offset + size


def discard_part(key: str) -> None:
    object_store().delete(key)


def read_upload(
    upload: Upload, start: int = 0, end: int | None = None
) -> list[tuple[str, int, int]]:
    """The (object key, start, end) pieces that make up bytes [start, end) of the upload."""
    end = upload.offset if end is None else min(end, upload.offset)
    pieces = []
    for part in upload.parts:
        p_start, p_end = part["offset"], part["offset"] + part["size"]
        if p_end <= start or p_start >= end:
            continue
        pieces.append((part["key"], max(start, p_start) - p_start, min(end, p_end) - p_start))
    return pieces


def seal_upload(upload_id: int, running_digest: str | None = None) -> str:
    """Record the whole upload's SHA-256 once its last byte arrived (workers check it).

    The tus handler passes the running hash it carried through every PATCH when this process
    saw them all; a single-part upload reuses its part's hash; otherwise the upload is read
    back once (decrypting).
    """
    upload = Upload.objects.get(pk=upload_id)
    if upload.offset != upload.length or not upload.parts:
        return upload.sha256
    if running_digest is not None:
        digest = running_digest
    elif len(upload.parts) == 1:
        digest = str(upload.parts[0]["sha256"])
    else:
        hasher, store = hashlib.sha256(), object_store()
        for key, start, end in read_upload(upload):
            for block in store.read(key, start, end):
                hasher.update(block)
        digest = hasher.hexdigest()
    Upload.objects.filter(pk=upload_id).update(sha256=digest)
    return digest
