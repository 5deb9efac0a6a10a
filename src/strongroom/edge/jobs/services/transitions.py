"""The one place task states change: conditional updates, so repeats are harmless (idempotent)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.db import transaction
from django.utils import timezone

from strongroom.edge.jobs.models import Task
from strongroom.edge.jobs.states import TERMINAL, TaskStatus, can_move


def move_task(
    task_id: int, target: TaskStatus, *, only_from: Collection[TaskStatus] = (), **fields: Any
) -> bool:
    """Move the task to `target` if the lifecycle allows it from its current state.

    `only_from` narrows the starting states further (start_encode2 starts only a fresh task).
    Returns True when the row now has `target`. Terminal states also stamp `finished_at` and,
    after the commit, queue the task's finalisation (audit record, callbacks).
    """
    allowed_from = [
        s for s in TaskStatus if can_move(s, target) and (not only_from or s in only_from)
    ]
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
