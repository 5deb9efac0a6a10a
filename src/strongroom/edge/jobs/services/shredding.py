"""Crypto-shredding: destroying a project's stored media by destroying its data keys.

Every object's data key exists only wrapped, in the wrapped-key store (envelope format 2).
Deleting that record makes the object's ciphertext unreadable wherever a copy survives (a
backup of the object folder, a versioned bucket), so the store deletes the key record before
the object itself. Work still running for the project is cancelled first, so no worker can
add objects behind the shredder's back (their leases are gone; later uploads are refused).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from strongroom.edge.accounts.models import Project
from strongroom.edge.audit.services import record_event
from strongroom.edge.jobs.models import Task, Upload, WorkItem
from strongroom.edge.jobs.services.objects import object_store
from strongroom.edge.jobs.states import WorkItemStatus


@dataclass(frozen=True)
class Shredded:
    tasks: int
    uploads: int
    objects: int


def shred_project(project: Project, *, actor: str, actor_type: str = "operator") -> Shredded:
    """Destroy the wrapped data keys and the stored objects of every task and upload of
    `project`, and audit it. The database rows stay (the caller deletes the project); running
    again finds nothing left to destroy."""
    tokens = list(Task.objects.filter(project=project).values_list("token", flat=True))
    uuids = list(Upload.objects.filter(task__project=project).values_list("uuid", flat=True))
    _stop_work(project)
    store = object_store()
    prefixes = [f"tasks/{token}" for token in tokens] + [f"uploads/{uuid}" for uuid in uuids]
    objects = sum(store.delete_prefix(prefix) for prefix in prefixes)
    result = Shredded(tasks=len(tokens), uploads=len(uuids), objects=objects)
    record_event(
        action="project.shredded",
        actor_type=actor_type,
        actor=actor,
        target=f"project:{project.pk}",
        details={"name": project.name, **result.__dict__},
        organization_id=project.organization_id,
    )
    return result


def _stop_work(project: Project) -> None:
    with transaction.atomic():
        WorkItem.objects.filter(task__project=project).exclude(
            status__in=[WorkItemStatus.DONE, WorkItemStatus.FAILED]
        ).update(status=WorkItemStatus.CANCELLED, lease_id=None, lease_expires_at=None)


def delete_project(project: Project, *, actor: str, actor_type: str = "operator") -> Shredded:
    """Shred the project's media, then delete the project and everything it owns."""
    result = shred_project(project, actor=actor, actor_type=actor_type)
    with transaction.atomic():
        record_event(
            action="project.deleted",
            actor_type=actor_type,
            actor=actor,
            target=f"project:{project.pk}",
            details={"name": project.name},
            organization_id=project.organization_id,
        )
        project.delete()
    return result
