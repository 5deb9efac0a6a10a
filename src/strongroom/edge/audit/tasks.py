"""Background work of the audit app (Huey): expiring the request log."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from strongroom.edge.audit.request_search import purge_request_log

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="23"))
def purge_old_requests() -> None:
    """Hourly: drop request-log records past STRONGROOM_REQUEST_LOG_DAYS."""
    deleted = purge_request_log()
    if deleted:
        logger.info("request log: %d record(s) past the retention period deleted", deleted)
