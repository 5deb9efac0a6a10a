"""Prometheus metrics about the queue and the workers, read from the database at scrape time.

Every edge process answers the same numbers (they come from the shared database), so a
scraper or an external autoscaler (KEDA, HPA) can ask any replica.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from strongroom.edge.jobs.models import Task, WorkItem
from strongroom.edge.jobs.services.leases import claimable_count_by_lane
from strongroom.edge.jobs.services.workers import list_workers
from strongroom.edge.jobs.states import TaskStatus, WorkItemStatus


class JobsCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield _gauge(
            "strongroom_queue_depth",
            "Work items ready to be claimed, by lane",
            "lane",
            claimable_count_by_lane(),
        )
        yield _gauge(
            "strongroom_work_items",
            "Work items by status",
            "status",
            _counts(WorkItem, [s.value for s in WorkItemStatus]),
        )
        yield _gauge(
            "strongroom_tasks",
            "Tasks by status",
            "status",
            _counts(Task, [s.value for s in TaskStatus]),
        )
        yield _durations()
        states = Counter(w.state for w in list_workers())
        yield _gauge(
            "strongroom_workers",
            "Enrolled workers by state",
            "state",
            {s: states.get(s, 0) for s in ("busy", "idle", "gone", "revoked")},
        )


DURATION_WINDOW = timedelta(hours=1)


def _durations() -> GaugeMetricFamily:
    """Run time (start to finish) of the tasks that finished in the last hour: median, 95th
    percentile and count. From the database, so every replica answers the same."""
    since = timezone.now() - DURATION_WINDOW
    finished = Task.objects.filter(finished_at__gte=since, started_at__isnull=False)
    seconds = sorted(
        (end - start).total_seconds()
        for start, end in finished.values_list("started_at", "finished_at")[:10_000]
    )
    gauge = GaugeMetricFamily(
        "strongroom_task_duration_seconds",
        "Start-to-finish time of tasks finished in the last hour",
        labels=["quantile"],
    )
    for name, q in (("0.5", 0.5), ("0.95", 0.95)):
        gauge.add_metric(
            [name], seconds[min(len(seconds) - 1, int(q * len(seconds)))] if seconds else 0.0
        )
    gauge.add_metric(["count"], len(seconds))
    return gauge


def _counts(model: type[Task] | type[WorkItem], statuses: list[str]) -> dict[str, int]:
    found = dict(model.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return {status: int(found.get(status, 0)) for status in statuses}


def _gauge(name: str, documentation: str, label: str, values: dict[str, int]) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        gauge.add_metric([key], value)
    return gauge
