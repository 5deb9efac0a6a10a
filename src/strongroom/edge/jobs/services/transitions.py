"""The one place task states change: conditional updates, so repeats are harmless (idempotent)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from strongroom.edge.jobs.models import Task
from strongroom.edge.jobs.states import TERMINAL, TaskStatus, can_move


def move_task(task_id: int, target: TaskStatus, **fields: Any) -> bool:
    """Move the task to `target` if the lifecycle allows it from its current state.

    Returns True when the row now has `target`. Terminal states also stamp `finished_at` and,
    after the commit, queue the task's finalisation (audit record, callbacks).
    """
    allowed_from = [status for status in TaskStatus if can_move(status, target)]
    if target in TERMINAL:
        fields.setdefault("finished_at", timezone.now())
    changed = Task.objects.filter(pk=task_id, status__in=allowed_from).update(
        status=target, **fields
    )
    if changed and target in TERMINAL:
        from strongroom.edge.jobs.tasks import finalize_task  # noqa: PLC0415  (huey import cycle)

        transaction.on_commit(lambda: finalize_task(task_id), robust=True)
    return bool(changed)


def raise_percent(task_id: int, percent: float) -> None:
    """Progress only ever grows (clients draw bars from it)."""
    percent = max(0.0, min(100.0, percent))
    Task.objects.filter(pk=task_id, percent__lt=percent).exclude(status__in=list(TERMINAL)).update(
        percent=percent
    )
