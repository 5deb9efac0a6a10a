"""Cancelling a task: it stops wherever it is, and what it produced so far is deleted."""

from __future__ import annotations

from django.db import transaction

from strongroom.edge.accounts.models import Project
from strongroom.edge.jobs.models import Task, WorkItem
from strongroom.edge.jobs.services.objects import object_store
from strongroom.edge.jobs.services.transitions import move_task
from strongroom.edge.jobs.states import TERMINAL, TaskStatus, WorkItemStatus


class TaskNotCancellable(Exception):
    """The task already reached a terminal state."""


def cancel_task(project: Project, token: str) -> Task:
    """Cancel a task of `project`; raises Task.DoesNotExist for another project's token.

    The lease is retired in the same transaction, so the worker's next heartbeat answers
    "lease lost": it kills its ffmpeg process group, removes its scratch folder, and every later
    upload for the old lease is refused. Objects already stored for the task are deleted.
    """
    with transaction.atomic():
        task = Task.objects.select_for_update().get(project=project, token=token)
        if task.status in TERMINAL:
            raise TaskNotCancellable(task.status)
        WorkItem.objects.filter(task=task).exclude(
            status__in=[WorkItemStatus.DONE, WorkItemStatus.FAILED]
        ).update(status=WorkItemStatus.CANCELLED, lease_id=None, lease_expires_at=None)
        move_task(task.pk, TaskStatus.CANCELLED, error_description="Cancelled by the client.")
    object_store().delete_prefix(f"tasks/{token}")
    task.refresh_from_db()
    return task
