"""Background work (Huey): finalising tasks and the periodic lease reaper.

Messages carry ids only and are enqueued after the database commit (transaction.on_commit).
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from strongroom.edge.audit.services import record_event
from strongroom.edge.jobs.models import Task
from strongroom.edge.jobs.services.leases import reap_expired_leases
from strongroom.edge.jobs.services.workers import purge_nonces

logger = logging.getLogger(__name__)


@db_task(retries=5, retry_delay=10)
def finalize_task(task_id: int) -> None:
    """A task reached a terminal state: leave an audit record (callbacks join here later)."""
    task = Task.objects.filter(pk=task_id).select_related("project").first()
    if task is None:
        return
    record_event(
        action=f"task.{task.status}",
        actor_type="system",
        actor="edge",
        target=f"task:{task.token}",
        details={"project": task.project_id},
    )


@db_periodic_task(crontab(minute="*"))
def reap_leases() -> None:
    reaped = reap_expired_leases()
    if reaped:
        logger.info("lease reaper: %d expired lease(s) requeued or failed", reaped)
    purge_nonces()
