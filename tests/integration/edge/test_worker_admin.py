"""Operating workers: listing, revocation, hand-back on shutdown (jobs/services)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.utils import timezone

from strongroom.crypto.signing import generate_private_key, public_key_to_text
from strongroom.edge.audit.models import AuditEvent
from strongroom.edge.jobs.models import Task, Worker, WorkItem
from strongroom.edge.jobs.services import leases, workers
from strongroom.edge.jobs.states import TaskStatus, WorkItemStatus
from tests.integration.edge.test_leases import make_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_the_listing_shows_busy_idle_gone_and_revoked_workers(
    start_task: Callable[..., Task],
) -> None:
    busy, idle, gone, revoked = (make_worker() for _ in range(4))
    Worker.objects.exclude(pk=gone.pk).update(last_seen_at=timezone.now())
    task = start_task()
    assert leases.claim_next(busy) is not None
    workers.revoke_worker(revoked.worker_id)

    listed = {w.worker_id: w for w in workers.list_workers()}

    assert listed[busy.worker_id].state == "busy"
    assert listed[busy.worker_id].current_task == task.token
    assert listed[idle.worker_id].state == "idle"
    assert listed[gone.worker_id].state == "gone"
    assert listed[revoked.worker_id].state == "revoked"


def test_revoking_a_worker_requeues_its_lease_at_once_and_is_audited(
    start_task: Callable[..., Task],
) -> None:
    holder, other = make_worker(), make_worker()
    task = start_task()
    lease = leases.claim_next(holder)
    assert lease is not None

    workers.revoke_worker(holder.worker_id, actor="cli:ops")

    assert workers.active_worker(holder.worker_id) is None
    assert workers.worker_public_key(holder.worker_id) is None
    taken = leases.claim_next(other)
    assert taken is not None and taken.task == task and taken.item.attempts == 2
    with pytest.raises(leases.LeaseLost):
        leases.heartbeat(str(lease.item.lease_id), holder, "encoding", 10)
    event = AuditEvent.objects.get(action="worker.revoked")
    assert (event.actor, event.target) == ("cli:ops", f"worker:{holder.worker_id}")


def test_revoking_an_unknown_worker_says_so() -> None:
    with pytest.raises(workers.UnknownWorker):
        workers.revoke_worker("wrk_" + "0" * 24)


def test_a_hand_back_requeues_at_once_without_spending_an_attempt(
    start_task: Callable[..., Task],
) -> None:
    worker = make_worker()
    task = start_task()
    item = WorkItem.objects.get(task=task)
    budget = item.max_attempts
    for _ in range(budget + 2):  # more hand-backs than attempts: the job still never fails
        lease = leases.claim_next(worker)
        assert lease is not None
        leases.fail(
            str(lease.item.lease_id), worker, "shutting down", retryable=True, handback=True
        )
    item.refresh_from_db()
    task.refresh_from_db()
    assert item.status == WorkItemStatus.QUEUED and task.status == TaskStatus.QUEUED
    assert item.max_attempts - item.attempts == budget  # the retry budget is untouched


def test_enrollment_is_audited(db: None) -> None:
    token = workers.create_join_token(("gpu",))
    key = public_key_to_text(generate_private_key().public_key())
    worker = workers.enroll(token, key, "w1", ["av1"], "0.1.0")

    assert sorted(worker.labels) == ["av1", "gpu"]
    assert AuditEvent.objects.filter(action="worker.enrolled", actor=worker.worker_id).exists()


def test_a_job_that_needs_a_label_goes_only_to_a_worker_that_has_it(
    start_task: Callable[..., Task],
) -> None:
    plain, av1 = make_worker(), make_worker()
    Worker.objects.filter(pk=av1.pk).update(labels=["av1", "local"])
    av1.refresh_from_db()
    needs_av1, anyone = start_task(), start_task()
    WorkItem.objects.filter(task=needs_av1).update(required_labels=["av1"])

    first = leases.claim_next(plain)
    assert first is not None and first.task == anyone
    assert leases.claim_next(plain) is None  # the av1 job waits for an av1 worker
    second = leases.claim_next(av1)
    assert second is not None and second.task == needs_av1
