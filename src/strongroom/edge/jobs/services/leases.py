"""Leasing work to workers: claim, heartbeat, complete, fail, and reaping expired leases.

A claim is one short transaction (SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL; an IMMEDIATE
transaction on SQLite, which takes the write lock up front). Every later call names its lease;
a lease that moved on (expired and re-leased, cancelled, finished) answers LeaseLost, so a stale
worker can never overwrite the newer lease's results.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from strongroom.edge.jobs.models import Output, StoredFile, Task, Worker, WorkItem
from strongroom.edge.jobs.services.destinations import hold_for_delivery
from strongroom.edge.jobs.services.objects import object_store
from strongroom.edge.jobs.services.transitions import move_task, raise_percent
from strongroom.edge.jobs.states import TaskStatus, WorkItemStatus

CLAIM_WINDOW = 50
LOST_WORKER_REASON = "The encoder stopped responding too many times; the task was abandoned."
STAGES = {
    "downloading": TaskStatus.DOWNLOADING,
    "encoding": TaskStatus.ENCODING,
    "saving": TaskStatus.SAVING,
}


class LeaseLost(Exception):
    """The lease is not (or no longer) held by this worker."""


class OutputMismatch(Exception):
    """A completion report names a file that was not uploaded under this lease, or differs."""


@dataclass(frozen=True)
class Lease:
    item: WorkItem
    task: Task


def claim_next(worker: Worker) -> Lease | None:
    """Lease the next claimable work item to `worker`, or return None when there is none."""
    if not _claimable_filter().exists():  # idle polls stay read-only: no write lock taken
        return None
    labels = set(worker.labels)
    with transaction.atomic():
        for item in _claimable():
            if item.status == WorkItemStatus.LEASED and item.attempts >= item.max_attempts:
                _give_up(item, LOST_WORKER_REASON)
                continue
            if set(item.required_labels) <= labels:  # label matching: av1 jobs to av1 workers
                return _lease(item, worker)
    return None


def _claimable_filter() -> QuerySet[WorkItem]:
    now = timezone.now()
    ready = Q(status=WorkItemStatus.QUEUED) & (Q(not_before__isnull=True) | Q(not_before__lte=now))
    expired = Q(status=WorkItemStatus.LEASED, lease_expires_at__lt=now)
    return WorkItem.objects.filter(ready | expired)


INTERACTIVE_PRIORITY = 1  # priority lanes: interactive (>= 1) is claimed before batch (< 1)


def claimable_count_by_lane() -> dict[str, int]:
    """How many work items are ready to be claimed in each priority lane (for metrics/scaling)."""
    ready = _claimable_filter()
    interactive = ready.filter(priority__gte=INTERACTIVE_PRIORITY).count()
    return {"interactive": interactive, "batch": ready.count() - interactive}


def _claimable() -> QuerySet[WorkItem]:
    """Priority lane first, then the project with the least work running (fair share), then age."""
    items = (
        _claimable_filter()
        .annotate(project_load=_running_in_project())
        .order_by("-priority", "project_load", "created_at")
    )
    if connection.features.has_select_for_update_skip_locked:
        items = items.select_for_update(skip_locked=True, of=("self",))
    # A window, not the whole queue: items this worker can't run (labels) are skipped in it.
    return items.select_related("task")[:CLAIM_WINDOW]


def _running_in_project() -> Case | Value:
    """Each candidate's project load as a CASE over the projects with running work, counted
    once per claim. (A correlated subquery per candidate row cost queued x running row visits
    per claim: the claiming benchmark measured it as the bottleneck.)"""
    running = (
        WorkItem.objects.filter(status=WorkItemStatus.LEASED, lease_expires_at__gte=timezone.now())
        .order_by()
        .values_list("task__project_id")
        .annotate(n=Count("pk"))
    )
    loads = [When(task__project_id=project_id, then=Value(n)) for project_id, n in running]
    if not loads:
        return Value(0)
    return Case(*loads, default=Value(0), output_field=IntegerField())


def _lease(item: WorkItem, worker: Worker) -> Lease:
    item.attempts += 1
    item.status = WorkItemStatus.LEASED
    item.lease_id = "lse_" + secrets.token_hex(16)
    item.lease_expires_at = timezone.now() + timedelta(seconds=settings.LEASE_SECONDS)
    item.worker = worker
    item.save(update_fields=["attempts", "status", "lease_id", "lease_expires_at", "worker"])
    if item.task.status != TaskStatus.QUEUED:  # an expired lease taken over: back through queued
        move_task(item.task_id, TaskStatus.QUEUED)
    move_task(item.task_id, TaskStatus.DOWNLOADING)
    item.task.refresh_from_db()
    return Lease(item=item, task=item.task)


def held_lease(lease_id: str, worker: Worker) -> WorkItem:
    """The live work item for `lease_id` if `worker` holds it; else LeaseLost."""
    item = (
        WorkItem.objects.select_related("task")
        .filter(
            lease_id=lease_id,
            worker=worker,
            status=WorkItemStatus.LEASED,
            lease_expires_at__gte=timezone.now(),
        )
        .first()
    )
    if item is None:
        raise LeaseLost(lease_id)
    return item


def heartbeat(lease_id: str, worker: Worker, stage: str, percent: float) -> tuple[WorkItem, bool]:
    """Extend the lease and record progress; returns (item, cancel requested)."""
    with transaction.atomic():
        item = held_lease(lease_id, worker)
        item.lease_expires_at = timezone.now() + timedelta(seconds=settings.LEASE_SECONDS)
        item.save(update_fields=["lease_expires_at"])
        if stage in STAGES:
            move_task(item.task_id, STAGES[stage])
        if stage == "encoding":
            raise_percent(item.task_id, percent)
        cancelled = Task.objects.filter(pk=item.task_id, status=TaskStatus.CANCELLED).exists()
    return item, cancelled


def record_stored_file(
    worker: Worker,
    item: WorkItem,
    output_index: int,
    path: str,
    key: str,
    size: int,
    sha256: str,
) -> None:
    """Count an uploaded file for the lease, if the lease is still live (else LeaseLost: an
    upload that raced a cancel or a re-lease must not leave a file behind)."""
    with transaction.atomic():
        held_lease(str(item.lease_id), worker)
        StoredFile.objects.update_or_create(
            lease_id=item.lease_id,
            output_index=output_index,
            path=path,
            defaults={"work_item": item, "key": key, "size": size, "sha256": sha256},
        )


def output_key(item: WorkItem, output_index: int, path: str) -> str:
    """Each attempt writes under its own prefix: a stale attempt can't mix into a newer one."""
    return f"tasks/{item.task.token}/a{item.attempts}/out{output_index}/{path}"


def complete(lease_id: str, worker: Worker, reports: list[object]) -> None:
    """Accept the worker's reports if every file in them was uploaded under this lease as stated.

    Files uploaded but not reported, and everything earlier attempts left, are deleted.
    """
    with transaction.atomic():
        item = held_lease(lease_id, worker)
        outputs = {o.index: o for o in Output.objects.filter(task_id=item.task_id)}
        by_index = _reports_by_index(reports, outputs)
        stored = {(f.output_index, f.path): f for f in StoredFile.objects.filter(lease_id=lease_id)}
        for index, report in by_index.items():
            _accept_report(outputs[index], report, stored, item)
        reported = {(o.index, str(f["path"])) for o in outputs.values() for f in o.files}
        unreported = [f.key for where, f in stored.items() if where not in reported]
        _finish_item(item, WorkItemStatus.DONE)
        move_task(item.task_id, TaskStatus.SAVING)
        if not hold_for_delivery(item.task_id):  # else completed once copied to destinations
            move_task(item.task_id, TaskStatus.COMPLETED, percent=100.0)
        task_prefix = f"tasks/{item.task.token}/"
        keep = f"{task_prefix}a{item.attempts}/"
    _delete_objects(unreported)
    _delete_stale_attempts(task_prefix, keep)


def _reports_by_index(
    reports: list[object], outputs: dict[int, Output]
) -> dict[int, dict[str, object]]:
    if not all(isinstance(r, dict) for r in reports):
        raise ValueError("each output report must be an object")  # malformed: answered 400
    typed = [r for r in reports if isinstance(r, dict)]
    indexes = [r.get("index") for r in typed]
    if len(typed) != len(outputs) or set(indexes) != set(outputs):
        raise OutputMismatch("every output of the task must be reported exactly once")
    return {int(str(r["index"])): r for r in typed}


def _accept_report(
    output: Output,
    report: dict[str, object],
    stored: dict[tuple[int, str], StoredFile],
    item: WorkItem,
) -> None:
    files = report.get("files")
    if not isinstance(files, list) or not files:
        raise OutputMismatch(f"output {output.index} lists no files")
    for entry in files:
        if not isinstance(entry, dict):
            raise OutputMismatch(f"output {output.index}: malformed file entry")
        found = stored.get((output.index, str(entry.get("path"))))
        if found is None or found.size != entry.get("size") or found.sha256 != entry.get("sha256"):
            raise OutputMismatch(
                f"output {output.index}: {entry.get('path')!s} was not uploaded as reported"
            )
    main_file = str(report.get("main_file", ""))
    if (output.index, main_file) not in stored:
        raise OutputMismatch(f"output {output.index}: main file {main_file!r} missing")
    output.main_file = main_file
    output.files = [{"path": e["path"], "size": e["size"], "sha256": e["sha256"]} for e in files]
    output.report = {
        k: report.get(k) for k in ("duration", "bitrate", "width", "height", "renditions")
    }
    output.report["prefix"] = output_key(item, output.index, "")
    output.save(update_fields=["main_file", "files", "report"])


def fail(
    lease_id: str, worker: Worker, reason: str, *, retryable: bool, handback: bool = False
) -> None:
    """The worker gave up on its lease: retry (with backoff) while attempts remain, else error.

    A hand-back (the worker is shutting down) requeues at once and doesn't count as an attempt.
    """
    with transaction.atomic():
        item = held_lease(lease_id, worker)
        if handback:
            _hand_back(item)
        elif retryable and item.attempts < item.max_attempts:
            _requeue(item, reason)
        else:
            _give_up(item, reason)


def _hand_back(item: WorkItem) -> None:
    # Raise the budget instead of lowering `attempts`: attempt numbers stay unique (fencing,
    # per-attempt storage prefixes).
    item.max_attempts += 1
    item.not_before = None
    _finish_item(item, WorkItemStatus.QUEUED, extra=["max_attempts", "not_before"])
    move_task(item.task_id, TaskStatus.QUEUED)


def reap_expired_leases() -> int:
    """Requeue (with backoff) or fail every work item whose lease expired; returns how many."""
    count = 0
    with transaction.atomic():
        expired = WorkItem.objects.filter(
            status=WorkItemStatus.LEASED, lease_expires_at__lt=timezone.now()
        ).select_related("task")
        for item in expired:
            if item.attempts >= item.max_attempts:
                _give_up(item, LOST_WORKER_REASON)
            else:
                _requeue(item, "lease expired")
            count += 1
    return count


def _requeue(item: WorkItem, reason: str) -> None:
    delay = settings.RETRY_BACKOFF_SECONDS * (2 ** max(0, item.attempts - 1))
    item.not_before = timezone.now() + timedelta(seconds=delay)
    item.last_error = reason[:2000]
    _finish_item(item, WorkItemStatus.QUEUED, extra=["not_before", "last_error"])
    move_task(item.task_id, TaskStatus.QUEUED)


def _give_up(item: WorkItem, reason: str) -> None:
    item.last_error = reason[:2000]
    _finish_item(item, WorkItemStatus.FAILED, extra=["last_error"])
    move_task(item.task_id, TaskStatus.ERROR, error_description=reason[:2000])


def _finish_item(item: WorkItem, status: WorkItemStatus, extra: list[str] | None = None) -> None:
    item.status = status
    item.lease_id = None
    item.lease_expires_at = None
    item.save(update_fields=["status", "lease_id", "lease_expires_at", *(extra or [])])


def _delete_objects(keys: list[str]) -> None:
    store = object_store()
    for key in keys:
        store.delete(key)


def _delete_stale_attempts(task_prefix: str, keep: str) -> None:
    store = object_store()
    for key in store.list(task_prefix):
        if not key.startswith(keep):
            store.delete(key)
