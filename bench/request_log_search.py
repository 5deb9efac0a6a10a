"""Request-log search over 1,000,000 records: typical searches vs a primary-key lookup.

Issue #7 asks that a search over a million request-log records answers in under a second.
This loads synthetic but realistically skewed rows (30 days, a dozen routes, mostly 200s, a
few hundred API keys and workers, thousands of addresses) into a throw-away test database of
the configured profile (SQLCipher by default, PostgreSQL when ``DATABASE_URL`` is set; the
real database is never touched), then times the searches `strongroom logs search` and the
console run, each against a primary-key lookup measured in the same rounds.

Run alone: ``python -m bench --only request_log_search`` (``--quick``: 250,000 rows).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.abrun import interleave
from bench.context import BenchContext
from bench.model import Comparison, Figure, Target, Unit
from bench.stats import paired_ratios, summarize

ROWS, QUICK_ROWS = 1_000_000, 250_000
CALLS = 20  # searches per repetition; a repetition's figure is the mean of these
UNDER_A_SECOND = 1_000_000.0  # issue #7's bound, in microseconds
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ROUTES = ["/v1/status"] * 30 + ["/api/v2/tasks/<task_token>"] * 10 + [
    "/internal/worker/leases/<str:lease_id>/heartbeat"] * 25 + [
    "/internal/worker/claim"] * 10 + ["stream:media"] * 12 + ["stream:tus"] * 6 + [
    "stream:worker-transfer", "/v1/access_token", "/v1/create_task", "/v1/start_encode2",
    "/healthz", "/metrics", "unmatched", "unmatched"]
STATUSES = [200] * 85 + [201, 204, 204, 206, 206, 304, 400, 401, 403, 404, 404, 409, 429, 499, 500]
AGENTS = ["python-httpx/0.28.1", "qencode-python-sdk/1.0", "curl/8.5.0", "strongroom-worker/0.1",
          "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"]
PROBES = ["/wp-login.php", "/.env", "/admin/config.php", "/phpmyadmin/index.php"]
NO_BRACKETS = str.maketrans("", "", "<>")
COLUMNS = ("started_at", "request_id", "method", "route", "path", "status", "duration_ms",
           "bytes_in", "bytes_out", "actor_kind", "actor_id", "organization_id", "address",
           "user_agent")


def setup_database(ctx: BenchContext) -> Callable[[], None]:
    """Django on a scratch data folder, a fresh test database; returns its teardown."""
    os.environ["STRONGROOM_DATA_DIR"] = str(Path(ctx.scratch) / "request-log")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "strongroom.edge.settings.base")
    import django  # noqa: PLC0415  (settings read the environment set just above)
    django.setup()
    from django.db import connection  # noqa: PLC0415
    old_name = connection.settings_dict["NAME"]
    if connection.vendor == "postgresql":  # its own name: never the test suite's database
        connection.settings_dict["TEST"]["NAME"] = "strongroom_bench_request_log"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    return lambda: connection.creation.destroy_test_db(old_name, verbosity=0)


def synthetic_rows(count: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    """Rows spread over 30 days, oldest first, with the skew a real edge shows."""
    keys = [f"k{n:07d}" for n in range(300)]
    workers = [f"wrk_{n:024x}" for n in range(20)]
    addresses = [f"198.51.{n // 250}.{n % 250}" for n in range(5000)]
    span = timedelta(days=30).total_seconds()
    for n in range(count):
        route = rng.choice(ROUTES)
        actor_kind, actor_id, org = "", "", None
        if route.startswith(("/v1/", "/api/")) and route != "/v1/status":
            actor_kind, actor_id, org = "api_key", rng.choice(keys), rng.randrange(1, 40)
        elif "worker" in route:
            actor_kind, actor_id = "worker", rng.choice(workers)
        path = rng.choice(PROBES) if route == "unmatched" else route.translate(NO_BRACKETS)
        yield (NOW - timedelta(seconds=span * (count - n) / count), f"{rng.getrandbits(64):016x}",
               "GET", route, path, rng.choice(STATUSES), rng.uniform(0.5, 80), 0,
               rng.randrange(100, 5000), actor_kind, actor_id, org, rng.choice(addresses),
               rng.choice(AGENTS))


def load(count: int, ctx: BenchContext) -> dict[str, list[Any]]:
    """Insert `count` rows in batches; some real values to search for afterwards."""
    from django.db import connection, transaction  # noqa: PLC0415

    from strongroom.edge.audit.models import RequestLog  # noqa: PLC0415
    table = RequestLog._meta.db_table
    marks = ", ".join(["%s"] * len(COLUMNS))
    sql = f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({marks})"  # noqa: S608
    rows = synthetic_rows(count, random.Random(7))  # noqa: S311  (synthetic data, seeded)
    started, batch = time.monotonic(), []
    for row in rows:
        batch.append(row)
        if len(batch) == 20_000:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(sql, batch)
            batch = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, batch)
        cursor.execute(f"ANALYZE {table}" if connection.vendor == "postgresql" else "ANALYZE")
    ctx.log(f"request_log_search: {count:,} rows loaded in {time.monotonic() - started:.0f} s")
    sample = list(RequestLog.objects.order_by("?").values("id", "request_id", "actor_id",
                                                           "address")[:200])
    return {name: [s[name] for s in sample if s[name]] for name in sample[0]}


def searches(values: dict[str, list[Any]]) -> dict[str, Callable[[], object]]:
    """Each search as the CLI runs it (filters from text, newest 50), cycling through values."""
    from strongroom.edge.audit.models import RequestLog  # noqa: PLC0415
    from strongroom.edge.audit.request_search import (  # noqa: PLC0415
        filters_from_strings,
        search_requests,
    )
    counter = iter(range(10**9))

    def pick(name: str) -> str:
        return str(values[name][next(counter) % len(values[name])])

    def search(**typed: str) -> Callable[[], object]:
        return lambda: search_requests(filters_from_strings(
            {k: (pick(v[1:]) if v.startswith("@") else v) for k, v in typed.items()}, now=NOW))
    return {
        "pk": lambda: RequestLog.objects.filter(pk=int(pick("id"))).first(),
        "newest": search(),
        "request_id": search(request_id="@request_id"),
        "actor": search(actor="@actor_id"),
        "address": search(address="@address"),
        "status_500_day": search(status="500", since="1d"),
        "route_week": search(route="/internal/worker/claim", since="7d"),
        "errors_5xx_week": search(status="5xx", since="7d"),
        "text_day": search(text="wp-login", since="1d"),
        "text_404s": search(text="phpmyadmin", status="404"),
        "text_nomatch_week": search(text="no-such-agent"),  # every row of the default window
        "text_nomatch_30d": search(text="no-such-agent", since="30d"),  # every row, unbounded
    }


def timed(action: Callable[[], object]) -> Callable[[], float]:
    """Mean wall microseconds per call over CALLS calls."""
    def run() -> float:
        started = time.perf_counter()
        for _ in range(CALLS):
            action()
        return (time.perf_counter() - started) * 1e6 / CALLS
    return run


def run(ctx: BenchContext) -> list[Figure]:
    """Time per search (target: under 1 s) and each search's ratio to a primary-key lookup."""
    count = QUICK_ROWS if ctx.quick else ROWS
    teardown = setup_database(ctx)
    try:
        variants = searches(load(count, ctx))
        ctx.log(f"request_log_search: {ctx.rounds} rounds x {len(variants)} searches")
        samples = interleave({name: timed(action) for name, action in variants.items()},
                             ctx.rounds, warmup=True)
    finally:
        teardown()
    baseline = samples.pop("pk")
    figures = [Figure(key="R0", title="request log: primary-key lookup (baseline)",
                      unit=Unit.MICROSECONDS, summary=summarize(baseline),
                      context={"rows": count})]
    for name, values in samples.items():
        unbounded = name == "text_nomatch_30d"
        figures.append(Figure(
            key=f"R-{name}", title=f"request log search '{name}' over {count:,} rows",
            unit=Unit.MICROSECONDS, summary=summarize(values),
            target=None if unbounded else Target("issue7", Comparison.AT_MOST, UNDER_A_SECOND),
            context={"ratio_to_pk": summarize(paired_ratios(values, baseline)).median},
            note="unindexed text over every row: the cost the 7-day default avoids"
            if unbounded else ""))
    return figures


if __name__ == "__main__":
    import sys
    import tempfile

    from bench.report import render_table
    from strongroom.media.runner import find_ffmpeg
    with tempfile.TemporaryDirectory(prefix="reqlog-bench-") as scratch:
        context = BenchContext(quick="--quick" in sys.argv, rounds=3, cache=Path(scratch),
                               scratch=Path(scratch), ffmpeg=find_ffmpeg())
        print(render_table(run(context)))
