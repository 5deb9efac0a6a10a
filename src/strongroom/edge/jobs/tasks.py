"""Background work (Huey): finalising tasks and the periodic lease reaper.

Messages carry ids only and are enqueued after the database commit (transaction.on_commit).
"""

from __future__ import annotations

import logging

from django.db import transaction
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from strongroom.edge.audit.checkpoints import last_checkpointed_seq, make_checkpoint
from strongroom.edge.audit.models import AuditEvent
from strongroom.edge.audit.services import record_event
from strongroom.edge.jobs.models import Task
from strongroom.edge.jobs.services import callbacks, destinations, key_rotation
from strongroom.edge.jobs.services.leases import reap_expired_leases
from strongroom.edge.jobs.services.workers import purge_nonces
from strongroom.edge.jobs.states import TaskStatus

logger = logging.getLogger(__name__)


@db_task(retries=5, retry_delay=10)
def finalize_task(task_id: int) -> None:
    """A task reached a terminal state: leave an audit record and send its callbacks."""
    task = Task.objects.filter(pk=task_id).select_related("project").first()
    if task is None:
        return
    destinations.forget_credentials(task_id)  # a failed or cancelled task copies nothing
    if task.status == TaskStatus.ERROR:
        deliver_callback(task_id, callbacks.EVENT_ERROR)
    deliver_callback(task_id, callbacks.EVENT_SAVED)
    record_event(
        action=f"task.{task.status}",
        actor_type="system",
        actor="edge",
        target=f"task:{task.token}",
        details={"project": task.project_id},
    )


@db_task()
def deliver_destinations(task_id: int, attempt: int = 1) -> None:
    """Copy a task's outputs to its destinations; a failure retries with back-off, and the
    last one fails the task (services.destinations)."""
    try:
        outcome = destinations.deliver(task_id)
    except Exception:  # the task must not stay in `saving` for ever
        logger.exception("destination delivery of task %s failed unexpectedly", task_id)
        outcome = destinations.Attempt(done=False, error=destinations.UNEXPECTED)
    if not outcome.done and attempt < destinations.ATTEMPTS:
        delay = destinations.retry_delay(attempt)
        deliver_destinations.schedule((task_id, attempt + 1), delay=delay)
        return
    destinations.finish(task_id, outcome)


@db_task()
def deliver_callback(task_id: int, event: str, attempt: int = 1) -> None:
    """One attempt; a failure schedules the next with back-off, the last one leaves a warning."""
    outcome = callbacks.deliver(task_id, event)
    if outcome.delivered:
        return
    if attempt <= len(callbacks.RETRY_DELAYS):
        deliver_callback.schedule(
            (task_id, event, attempt + 1), delay=callbacks.RETRY_DELAYS[attempt - 1]
        )
    else:
        callbacks.record_failure(task_id, event, outcome.detail)


@db_periodic_task(crontab(minute="*"))
def reap_leases() -> None:
    reaped = reap_expired_leases()
    if reaped:
        logger.info("lease reaper: %d expired lease(s) requeued or failed", reaped)
    purge_nonces()


@db_periodic_task(crontab(minute="*/15"))
def resume_deliveries() -> None:
    """Queue again the copies to destinations whose job was lost (services.destinations)."""
    for task_id in destinations.stalled_tasks():
        deliver_destinations(task_id)


@db_periodic_task(crontab(minute="*/10"))
def checkpoint_audit_log() -> None:
    """Sign the audit chain's head every ten minutes when it moved (tail cuts become visible)."""
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    if last is not None and last != last_checkpointed_seq():
        make_checkpoint()


@db_task(retries=10, retry_delay=60)
def rewrap_objects(rotation_id: int) -> None:
    """One slice of a key rotation; queues the next while objects remain. A KMS outage raises
    (progress is saved first), and Huey retries the slice later."""
    if key_rotation.run_rotation(rotation_id):
        transaction.on_commit(lambda: rewrap_objects(rotation_id), robust=True)


@db_periodic_task(crontab(minute="*/5"))
def resume_key_rotations() -> None:
    """Pick up rotations whose runner stopped (consumer restarted, retries used up)."""
    for rotation_id in key_rotation.stalled_rotations():
        rewrap_objects(rotation_id)
