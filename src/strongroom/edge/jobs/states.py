"""Task and work-item states, and the one table of legal task transitions (DESIGN.md §3)."""

from __future__ import annotations

from django.db import models


class TaskStatus(models.TextChoices):
    CREATED = "created"
    QUEUED = "queued"
    DOWNLOADING = "downloading"
    ENCODING = "encoding"
    SAVING = "saving"
    COMPLETED = "completed"
    ERROR = "error"
    CANCELLED = "cancelled"


class WorkItemStatus(models.TextChoices):
    QUEUED = "queued"
    LEASED = "leased"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({TaskStatus.COMPLETED, TaskStatus.ERROR, TaskStatus.CANCELLED})
RUNNING = (TaskStatus.DOWNLOADING, TaskStatus.ENCODING, TaskStatus.SAVING)

# Every state may also move to itself (idempotent repeats) and, until terminal, to error/cancelled.
# Running states may go back to `queued` when a lease expires and the work is retried.
_FORWARD: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.CREATED: frozenset({TaskStatus.QUEUED}),
    TaskStatus.QUEUED: frozenset(RUNNING),
    TaskStatus.DOWNLOADING: frozenset({TaskStatus.ENCODING, TaskStatus.SAVING, TaskStatus.QUEUED}),
    TaskStatus.ENCODING: frozenset({TaskStatus.SAVING, TaskStatus.QUEUED}),
    TaskStatus.SAVING: frozenset({TaskStatus.COMPLETED, TaskStatus.QUEUED}),
}


class IllegalTransition(Exception):
    """A state change the task lifecycle does not allow."""


def can_move(current: TaskStatus, target: TaskStatus) -> bool:
    if current == target:
        return True
    if current in TERMINAL:
        return False
    if target in {TaskStatus.ERROR, TaskStatus.CANCELLED}:
        return True
    return target in _FORWARD.get(current, frozenset())


def check_move(current: str, target: TaskStatus) -> None:
    if not can_move(TaskStatus(current), target):
        raise IllegalTransition(f"{current} -> {target}")
