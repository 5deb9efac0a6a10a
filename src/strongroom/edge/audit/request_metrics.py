"""Prometheus metrics of the request log: rates and latencies by route template and status class.

Counted in this process (each edge replica answers for its own requests, as Prometheus
expects of counters). Labels are route templates and status classes, never concrete paths, so
the number of series stays small whatever clients send.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "strongroom_http_requests",
    "HTTP requests answered, by route template and status class",
    ["route", "status_class"],
    registry=None,
)
LATENCY = Histogram(
    "strongroom_http_request_duration_seconds",
    "Time from request start to the end of the response, by route template and status class",
    ["route", "status_class"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0),
    registry=None,
)
DROPPED = Counter(
    "strongroom_request_log_dropped",
    "Request-log records not stored (queue full or database error); stdout still has them",
    registry=None,
)
REFUSALS = Counter(
    "strongroom_refusals",
    "Requests refused by a security check (bad signature, replay, revoked key...), by reason",
    ["action", "reason"],
    registry=None,
)
COLLECTORS = (REQUESTS, LATENCY, DROPPED, REFUSALS)


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status <= 599 else "none"


def observe(route: str, status: int, seconds: float) -> None:
    labels = (route, status_class(status))
    REQUESTS.labels(*labels).inc()
    LATENCY.labels(*labels).observe(seconds)


def dropped(count: int) -> None:
    DROPPED.inc(count)
