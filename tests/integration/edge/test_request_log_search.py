"""Searching the request log (the service the console and `strongroom logs search` share), its
retention purge, the bounded writer queue, and the CLI."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from pytest_django import Settings

from strongroom.cli import logs
from strongroom.cli.main import main
from strongroom.edge.audit import request_metrics
from strongroom.edge.audit.models import ActorKind, RequestLog
from strongroom.edge.audit.request_search import (
    InvalidFilter,
    RequestFilters,
    filters_from_strings,
    purge_request_log,
    search_requests,
)
from strongroom.edge.audit.request_writer import RequestLogWriter, writer
from strongroom.edge.audit.requestlog import RequestRecord
from strongroom.edge.audit.tasks import purge_old_requests

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def record(minutes_ago: float, **fields: object) -> RequestRecord:
    values: dict[str, object] = {
        "started_at": NOW - timedelta(minutes=minutes_ago),
        "request_id": f"r{minutes_ago:g}",
        "method": "GET",
        "route": "/v1/status",
        "path": "/v1/status",
        "status": 200,
        "duration_ms": 1.5,
        "bytes_in": 0,
        "bytes_out": 10,
        "actor_kind": ActorKind.NONE,
        "actor_id": "",
        "organization_id": None,
        "address": "192.0.2.1",
        "user_agent": "curl/8.5",
    }
    return RequestRecord(**{**values, **fields})  # type: ignore[arg-type]


@pytest.fixture
def log() -> None:
    writer().flush(timeout=30)  # nothing from earlier tests arrives mid-test
    RequestLog.objects.all().delete()
    rows = [
        record(1, status=500, route="/api/v2/tasks/<task_token>", path="/api/v2/tasks/<token>"),
        record(2, status=404, route="unmatched", path="/wp-login.php", address="198.51.100.7"),
        record(3, actor_kind=ActorKind.API_KEY, actor_id="kpub1", organization_id=7),
        record(4, actor_kind=ActorKind.WORKER, actor_id="wkr_1", route="stream:tus"),
        record(5, user_agent="Qencode-SDK/1.0 (python)", request_id="abcdef0123456789"),
        record(60 * 24 * 40, request_id="ancient"),
    ]
    RequestLog.objects.bulk_create(RequestLog(**vars(r)) for r in rows)


def ids(filters: RequestFilters) -> list[str]:
    return [r.request_id for r in search_requests(filters).records]


def typed(now: datetime = NOW, **values: str) -> RequestFilters:
    return filters_from_strings(values, now=now)


@pytest.mark.usefixtures("log")
def test_each_filter_narrows_the_search_newest_first() -> None:
    assert ids(typed()) == ["r1", "r2", "r3", "r4", "abcdef0123456789", "ancient"]
    assert ids(typed(since="10m")) == ["r1", "r2", "r3", "r4", "abcdef0123456789"]
    assert ids(typed(until="2026-11-20T11:57:30")) == ["r3", "r4", "abcdef0123456789", "ancient"]
    assert ids(typed(status="404")) == ["r2"]
    assert ids(typed(status="5xx")) == ["r1"]
    assert ids(typed(route="stream:tus")) == ["r4"]
    assert ids(typed(actor="kpub1")) == ["r3"]
    assert ids(typed(actor="worker:wkr_1")) == ["r4"]
    assert ids(typed(actor="api_key:wkr_1")) == []
    assert ids(typed(address="198.51.100.7")) == ["r2"]
    assert ids(typed(request_id="abcdef0123456789")) == ["abcdef0123456789"]
    assert ids(typed(text="WP-LOGIN")) == ["r2"]
    assert ids(typed(text="qencode-sdk")) == ["abcdef0123456789"]
    assert ids(typed(status="200", since="4m")) == ["r3", "r4"]
    assert ids(RequestFilters(organization_id=7)) == ["r3"]


@pytest.mark.usefixtures("log")
def test_typed_text_without_a_start_looks_at_the_last_week_only() -> None:
    assert "ancient" not in ids(typed(text="curl"))
    assert "ancient" in ids(typed(text="curl", since="60d"))
    assert ids(RequestFilters(text="curl"))[-1] == "ancient"  # built in code: taken literally


@pytest.mark.usefixtures("log")
def test_pages_follow_each_other_without_gaps_or_repeats() -> None:
    first = search_requests(typed(limit="4"))
    second = search_requests(typed(limit="4", before=first.next_cursor or ""))

    assert [r.request_id for r in first.records] == ["r1", "r2", "r3", "r4"]
    assert [r.request_id for r in second.records] == ["abcdef0123456789", "ancient"]
    assert second.next_cursor is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("status", "6xx"),
        ("status", "abc"),
        ("status", "2000"),
        ("status", "20"),
        ("limit", "0"),
        ("limit", "1001"),
        ("limit", "-5"),
        ("limit", "ten"),
        ("since", "yesterday"),
        ("since", "5w"),
        ("until", "2026-13-01"),
        ("before", "12345"),
        ("before", "1.2; DROP TABLE audit_requestlog"),
    ],
)
def test_it_refuses_filters_it_does_not_understand(name: str, value: str) -> None:
    with pytest.raises(InvalidFilter, match=name):
        typed(**{name: value})


def test_a_status_code_is_an_exact_match_not_a_prefix() -> None:
    RequestLog.objects.bulk_create(
        [RequestLog(**vars(record(1, status=404))), RequestLog(**vars(record(2, status=40)))]
    )
    assert ids(typed(status="404")) == ["r1"]


@pytest.mark.usefixtures("log")
def test_the_purge_deletes_only_what_is_past_the_retention_period() -> None:
    assert purge_request_log(now=NOW, days=30) == 1
    assert not RequestLog.objects.filter(request_id="ancient").exists()
    assert RequestLog.objects.count() == 5
    assert purge_request_log(now=NOW + timedelta(minutes=3, seconds=30), days=30) == 0


@pytest.mark.usefixtures("log")
def test_the_periodic_task_purges_with_the_configured_days(settings: Settings) -> None:
    settings.REQUEST_LOG_DAYS = 1
    RequestLog.objects.update(started_at=datetime.now(UTC) - timedelta(days=2))
    RequestLog.objects.filter(request_id="r1").update(started_at=datetime.now(UTC))

    purge_old_requests.call_local()

    assert list(RequestLog.objects.values_list("request_id", flat=True)) == ["r1"]


def test_a_full_queue_drops_and_counts_instead_of_waiting() -> None:
    writer().flush(timeout=30)
    RequestLog.objects.all().delete()
    dropped_before = dropped_count()
    bounded = RequestLogWriter(capacity=2)  # not started yet: nothing drains the queue

    for minutes in range(5):
        bounded.submit(record(minutes))
    bounded.start()

    assert bounded.flush(timeout=30)
    assert RequestLog.objects.count() == 2
    assert dropped_count() - dropped_before == 3


def dropped_count() -> float:
    samples = next(iter(request_metrics.DROPPED.collect())).samples
    return next(s.value for s in samples if s.name == "strongroom_request_log_dropped_total")


@pytest.mark.usefixtures("log")
def test_the_cli_prints_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    logs.register(parser.add_subparsers())
    args = parser.parse_args(["logs", "search", "--json", "--status", "4xx"])

    assert args.handler(args) == 0

    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["path"] for line in lines] == ["/wp-login.php"]


@pytest.mark.usefixtures("log")
def test_the_cli_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs", "search", "--actor", "kpub1", "--limit", "5"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["time", "(UTC)", "request"]
    assert len(out) == 2
    assert "api_key:kpub1" in out[1]
    assert "/v1/status" in out[1]


@pytest.mark.usefixtures("log")
def test_the_cli_reports_a_bad_filter_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs", "search", "--since", "last tuesday"]) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == (
        "strongroom: since 'last tuesday': use 15m, 2h, 7d or an ISO 8601 time"
    )


def test_the_default_registry_is_left_alone() -> None:
    """The request metrics live in the edge's own registry only (no global side effects)."""
    assert REGISTRY.get_sample_value("strongroom_request_log_dropped_total") is None
