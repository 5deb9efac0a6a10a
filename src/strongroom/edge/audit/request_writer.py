"""Writes request-log records to the database in batches, off the request path.

Requests put records on a bounded in-process queue and never wait; one daemon thread takes
whatever has piled up (up to BATCH rows) and inserts it with one `bulk_create`. When the
queue is full (the database is slower than the traffic), records are dropped and counted in
`strongroom_request_log_dropped_total`: losing log rows is better than slowing every request
or growing memory without bound. The JSON line on stdout is written either way.

The thread closes its database connection after every batch, before it reports the batch
done: an idle edge holds no extra connection, and once `flush()` returns no connection of
this thread is left behind (PostgreSQL will not drop a database someone is connected to). A
reconnect per batch is cheap next to a batch of inserts.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import asdict
from functools import lru_cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection

from strongroom.edge.audit import request_metrics
from strongroom.edge.audit.models import RequestLog

if TYPE_CHECKING:
    from strongroom.edge.audit.requestlog import RequestRecord

logger = logging.getLogger(__name__)
BATCH = 500


class RequestLogWriter:
    def __init__(self, capacity: int) -> None:
        self._queue: queue.Queue[RequestRecord] = queue.Queue(maxsize=capacity)
        self._idle = threading.Condition()
        self._pending = 0  # submitted and not yet written (or given up on)
        self._thread = threading.Thread(target=self._run, name="request-log-writer", daemon=True)

    def start(self) -> RequestLogWriter:
        self._thread.start()
        return self

    def submit(self, record: RequestRecord) -> None:
        """Queue one record; never blocks (a full queue drops and counts it)."""
        with self._idle:
            self._pending += 1
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            request_metrics.dropped(1)
            self._done(1)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every submitted record is written; False if `timeout` ran out first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list[RequestRecord]) -> None:
        try:
            RequestLog.objects.bulk_create([RequestLog(**asdict(r)) for r in batch])
        except Exception:  # any database trouble: count the loss, keep the thread alive
            logger.exception("request log: %d record(s) could not be stored", len(batch))
            request_metrics.dropped(len(batch))
        finally:
            connection.close()
            self._done(len(batch))

    def _done(self, count: int) -> None:
        with self._idle:
            self._pending -= count
            self._idle.notify_all()


@lru_cache(maxsize=1)
def writer() -> RequestLogWriter:
    """The process's one writer, started on first use (importing this module starts nothing)."""
    return RequestLogWriter(settings.REQUEST_LOG_QUEUE).start()


def flush_pending(timeout: float = 10) -> bool:
    """Wait for queued records if this process ever logged a request (shutdown, tests)."""
    return writer().flush(timeout) if writer.cache_info().currsize else True
