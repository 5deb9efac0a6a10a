"""Lease logic (jobs/services/leases.py) and the task lifecycle (jobs/states.py), called
directly: no HTTP, no signatures."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from pytest_django import Settings

from strongroom.edge.accounts.models import Project
from strongroom.edge.jobs.models import Task, Worker, WorkItem
from strongroom.edge.jobs.services import leases
from strongroom.edge.jobs.services import tasks as task_service
from strongroom.edge.jobs.services.transitions import move_task
from strongroom.edge.jobs.states import TERMINAL, TaskStatus, WorkItemStatus, can_move
from tests.integration.edge.qencode_api import query_text

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

_worker_ids = itertools.count()


def make_worker() -> Worker:
    return Worker.objects.create(
        worker_id=f"wrk_{next(_worker_ids):024x}", name="w", public_key="A" * 43
    )


@pytest.fixture
def worker(db: None) -> Worker:
    return make_worker()


def work_item(task: Task) -> WorkItem:
    return WorkItem.objects.select_related("task").get(task=task)


def expire(task: Task) -> None:
    WorkItem.objects.filter(task=task).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )


def claimed(worker: Worker) -> Task:
    lease = leases.claim_next(worker)
    assert lease is not None
    return lease.task


def test_it_claims_by_priority_then_age(worker: Worker, start_task: Callable[..., Task]) -> None:
    oldest, middle, newest, urgent = (start_task() for _ in range(4))
    now = timezone.now()
    for age, task in enumerate((newest, middle, oldest, urgent)):
        WorkItem.objects.filter(task=task).update(created_at=now - timedelta(minutes=age))
    WorkItem.objects.filter(task=urgent).update(priority=5)

    order = [claimed(worker).pk for _ in range(4)]

    assert order == [urgent.pk, oldest.pk, middle.pk, newest.pk]
    assert leases.claim_next(worker) is None


def test_it_does_not_claim_work_before_its_backoff(
    worker: Worker, start_task: Callable[..., Task]
) -> None:
    task = start_task()
    WorkItem.objects.update(not_before=timezone.now() + timedelta(minutes=1))

    assert leases.claim_next(worker) is None
    WorkItem.objects.update(not_before=timezone.now() - timedelta(seconds=1))
    assert claimed(worker) == task


def test_it_shares_claims_fairly_across_projects(
    worker: Worker, start_task: Callable[..., Task], other_project: Project
) -> None:
    backlog = [start_task() for _ in range(3)]
    other = task_service.create_task(other_project)
    task_service.start_task(other.token, query_text())

    first, second = claimed(worker), claimed(worker)

    assert first == backlog[0]
    assert second == other


def test_it_leases_with_a_new_id_and_attempt(
    worker: Worker, start_task: Callable[..., Task]
) -> None:
    task = start_task()

    lease = leases.claim_next(worker)

    assert lease is not None
    item = work_item(task)
    assert (item.status, item.attempts, item.worker) == (WorkItemStatus.LEASED, 1, worker)
    assert item.lease_id == lease.item.lease_id and item.lease_id.startswith("lse_")
    assert item.lease_expires_at > timezone.now()
    assert lease.task.status == TaskStatus.DOWNLOADING


def test_a_heartbeat_extends_the_lease_and_records_progress(
    worker: Worker, start_task: Callable[..., Task]
) -> None:
    start_task()
    task = claimed(worker)
    WorkItem.objects.update(lease_expires_at=timezone.now() + timedelta(milliseconds=200))
    lease_id = str(work_item(task).lease_id)

    item, cancel = leases.heartbeat(lease_id, worker, "encoding", 30)
    leases.heartbeat(lease_id, worker, "encoding", 20)  # progress never goes back

    assert cancel is False
    assert item.lease_expires_at > timezone.now() + timedelta(seconds=4)
    task.refresh_from_db()
    assert (task.status, task.percent) == (TaskStatus.ENCODING, 30.0)


def test_a_heartbeat_from_another_worker_is_refused(
    worker: Worker, start_task: Callable[..., Task]
) -> None:
    task = start_task()
    claimed(worker)

    with pytest.raises(leases.LeaseLost):
        leases.heartbeat(str(work_item(task).lease_id), make_worker(), "encoding", 1)


def test_the_reaper_requeues_with_backoff_then_fails_the_task(
    worker: Worker, start_task: Callable[..., Task], settings: Settings
) -> None:
    settings.RETRY_BACKOFF_SECONDS = 10
    task = start_task()
    max_attempts = task.work_items.get().max_attempts
    delays = []
    for _ in range(max_attempts - 1):
        claimed(worker)
        expire(task)
        assert leases.reap_expired_leases() == 1
        item = work_item(task)
        assert (item.status, item.lease_id, item.last_error) == ("queued", None, "lease expired")
        assert item.task.status == TaskStatus.QUEUED
        delays.append((item.not_before - timezone.now()).total_seconds())
        WorkItem.objects.update(not_before=None)
    claimed(worker)
    expire(task)

    assert leases.reap_expired_leases() == 1

    assert [round(delay) for delay in delays] == [10 * 2**n for n in range(max_attempts - 1)]
    item = work_item(task)
    assert (item.status, item.attempts) == (WorkItemStatus.FAILED, max_attempts)
    assert item.task.status == TaskStatus.ERROR
    assert item.task.error_description == leases.LOST_WORKER_REASON
    assert "stopped responding" in item.task.error_description
    assert leases.claim_next(worker) is None
    assert leases.reap_expired_leases() == 0


def test_a_claim_takes_over_an_expired_lease(
    worker: Worker, start_task: Callable[..., Task]
) -> None:
    task = start_task()
    claimed(worker)
    first = str(work_item(task).lease_id)
    expire(task)

    second = leases.claim_next(make_worker())

    assert second is not None and second.item.attempts == 2
    assert second.item.lease_id != first
    assert second.task.status == TaskStatus.DOWNLOADING


def test_a_retryable_failure_requeues(worker: Worker, start_task: Callable[..., Task]) -> None:
    task = start_task()
    claimed(worker)

    leases.fail(str(work_item(task).lease_id), worker, "network hiccup", retryable=True)

    item = work_item(task)
    assert (item.status, item.lease_id, item.last_error) == ("queued", None, "network hiccup")
    assert item.task.status == TaskStatus.QUEUED
    assert claimed(worker) == task


def test_a_final_failure_errors_the_task(worker: Worker, start_task: Callable[..., Task]) -> None:
    task = start_task()
    claimed(worker)

    leases.fail(
        str(work_item(task).lease_id), worker, "The source is not a video.", retryable=False
    )

    item = work_item(task)
    assert item.status == WorkItemStatus.FAILED
    assert (item.task.status, item.task.error_description) == (
        TaskStatus.ERROR,
        "The source is not a video.",
    )
    assert item.task.finished_at is not None


def test_a_retryable_failure_on_the_last_attempt_errors_the_task(
    worker: Worker, start_task: Callable[..., Task]
) -> None:
    task = start_task()
    WorkItem.objects.update(max_attempts=1)
    claimed(worker)

    leases.fail(str(work_item(task).lease_id), worker, "still broken", retryable=True)

    assert work_item(task).task.status == TaskStatus.ERROR


def test_a_stale_lease_cannot_complete_or_fail(
    worker: Worker, start_task: Callable[..., Task]
) -> None:
    task = start_task()
    claimed(worker)
    stale = str(work_item(task).lease_id)
    expire(task)
    claimed(worker)  # the same worker, a newer lease

    with pytest.raises(leases.LeaseLost):
        leases.complete(stale, worker, [])
    with pytest.raises(leases.LeaseLost):
        leases.fail(stale, worker, "late", retryable=False)

    item = work_item(task)
    assert (item.status, item.attempts) == (WorkItemStatus.LEASED, 2)
    assert item.task.status == TaskStatus.DOWNLOADING


@pytest.mark.parametrize("terminal", sorted(TERMINAL))
def test_a_terminal_task_never_moves(terminal: TaskStatus, start_task: Callable[..., Task]) -> None:
    others = [status for status in TaskStatus if status != terminal]
    assert not any(can_move(terminal, target) for target in others)
    assert can_move(terminal, terminal)  # repeats are harmless
    task = start_task()
    Task.objects.filter(pk=task.pk).update(status=terminal)

    for target in others:
        assert move_task(task.pk, target) is False
    task.refresh_from_db()
    assert task.status == terminal


def test_the_lifecycle_runs_forward_and_back_to_the_queue_only() -> None:
    assert can_move(TaskStatus.CREATED, TaskStatus.QUEUED)
    assert not can_move(TaskStatus.CREATED, TaskStatus.COMPLETED)
    assert not can_move(TaskStatus.QUEUED, TaskStatus.COMPLETED)
    assert not can_move(TaskStatus.ENCODING, TaskStatus.DOWNLOADING)
    assert can_move(TaskStatus.SAVING, TaskStatus.QUEUED)
    assert all(
        can_move(status, TaskStatus.ERROR) and can_move(status, TaskStatus.CANCELLED)
        for status in TaskStatus
        if status not in TERMINAL
    )
