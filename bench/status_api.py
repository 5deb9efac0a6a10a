"""T11: `/v1/status` for a project with 10,000 tasks vs a minimal Django view (`/healthz`), on
one live `strongroom serve` process over TLS, 50 keep-alive connections on loopback.

Both routes go through the same uvicorn, TLS context, ASGI router and Django middleware (request
log, rate limiter, security headers); `/healthz` returns a constant JSON body with no database
access, so the ratio is what looking up and rendering a task costs on top of the framework.
Each status call asks for one random started task (outputs, work item) out of the 10,000.
The load generator is ``bench.loadgen`` (asyncio + httpx; wrk is not a dependency).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from bench.abrun import interleave
from bench.context import BenchContext
from bench.edge_server import running_edge
from bench.loadgen import LoadResult, Request, generate_load
from bench.model import Comparison, Figure, Target, Unit
from bench.stats import paired_ratios, summarize

TASKS, STARTED = 10_000, 1_000
CONNECTIONS = 50


def status_requests(tokens: list[str]) -> Callable[[], Request]:
    """A status call for a random started task (form body, as the Qencode SDKs send it)."""
    rng = random.Random(11)  # noqa: S311  (load pattern, not security)
    return lambda: Request("POST", "/v1/status", f"task_tokens={rng.choice(tokens)}".encode(),
                           {"content-type": "application/x-www-form-urlencoded"})


def run(ctx: BenchContext) -> list[Figure]:
    """Requests per second and p99 latency ratios, status / healthz."""
    seconds = 5.0 if ctx.quick else 15.0
    with running_edge(ctx.scratch, "status-edge") as edge:
        ctx.log(f"status_api: seeding {TASKS:,} tasks ({STARTED:,} started)")
        tokens = edge.seed("tasks", "--count", str(TASKS), "--started", str(STARTED))["started"]
        ctx.log(f"status_api: {ctx.rounds} rounds x 2 routes x {seconds:.0f} s, "
                f"{CONNECTIONS} connections")
        healthz = Request("GET", "/healthz", b"", {})
        make_status = status_requests(tokens)
        variants: dict[str, Callable[[], LoadResult]] = {
            "status": lambda: generate_load(edge.url, edge.ca, make_status, CONNECTIONS,
                                            seconds, edge.pid),
            "healthz": lambda: generate_load(edge.url, edge.ca, lambda: healthz, CONNECTIONS,
                                             seconds, edge.pid),
        }
        samples = interleave(variants, ctx.rounds, warmup=True)
        database = "postgresql" if "DATABASE_URL" in edge.env else "sqlcipher"
    ours, base = samples["status"], samples["healthz"]
    rps = ([r.per_second for r in ours], [r.per_second for r in base])
    p99 = ([r.p99 for r in ours], [r.p99 for r in base])
    context = {"status_req_s": summarize(rps[0]).median, "healthz_req_s": summarize(rps[1]).median,
               "client_cpu_share": summarize([r.client_cpu_share for r in ours]).median,
               "server_cpu_share": summarize([r.server_cpu_share for r in ours]).median,
               "tasks": TASKS, "database": database}
    return [
        Figure(key="T11-rps", title="/v1/status req/s, 10k tasks, / minimal Django view",
               unit=Unit.RATIO, summary=summarize(paired_ratios(*rps)),
               target=Target("T11", Comparison.AT_LEAST, 0.9), context=context),
        Figure(key="T11-p99", title="/v1/status p99 latency / minimal Django view's",
               unit=Unit.RATIO, summary=summarize(paired_ratios(*p99)),
               target=Target("T11", Comparison.AT_MOST, 1.2),
               context={"status_p99_ms": summarize(p99[0]).median * 1000,
                        "healthz_p99_ms": summarize(p99[1]).median * 1000,
                        "errors": sum(r.errors for r in ours + base)}),
    ]
