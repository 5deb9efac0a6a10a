"""Claiming: leases per second with 50 concurrent simulated workers on PostgreSQL, zero double
claims. Through the service layer (``edge.jobs.services.leases.claim_next``) from 50 threads,
each with its own database connection, against a floor of one bare SKIP LOCKED update per
claim from the same threads, interleaved (see ``bench.claim_load``, which runs in its own
process so Django is set up there, on a throw-away database this module creates and drops).

Needs ``DATABASE_URL`` (a PostgreSQL server the bench may create databases on); skipped
without it. The signed HTTP endpoint is not used: it would measure TLS and request signing
(covered by the status figure) more than the claim itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench.context import BenchContext
from bench.edge_server import server_env, throwaway_postgres
from bench.model import Comparison, Figure, Target, Unit, skipped
from bench.stats import paired_ratios, summarize

WORKERS = 50
LEASES_PER_SECOND = 500.0
# Items per drain. Small on purpose: the service's claim cost grows with queued x running
# items (see docs/performance.md), so a deeper queue takes quadratically longer to drain.
QUEUE_DEPTH = 300


def measure(ctx: BenchContext, base: str, items: int) -> dict[str, object]:
    """Run ``bench.claim_load`` on a fresh database; its JSON answer."""
    with throwaway_postgres(base, "strongroom_bench_claims") as url:
        env = server_env(url)
        done = subprocess.run(
            [sys.executable, "-m", "bench.claim_load", "--data-dir",
             str(ctx.scratch / "claiming"), "--items", str(items), "--workers", str(WORKERS),
             "--rounds", str(ctx.rounds)],
            env=env, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode:
        raise RuntimeError(f"claim_load failed: {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout))


def run(ctx: BenchContext) -> list[Figure]:
    """Leases/s through the service (target >= 500), its ratio to the floor, double claims."""
    target = Target("claims", Comparison.AT_LEAST, LEASES_PER_SECOND)
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        return [skipped("C-rate", "leases/s, 50 workers, service layer", Unit.PER_SECOND,
                        "needs DATABASE_URL pointing at PostgreSQL", target)]
    items = QUEUE_DEPTH
    ctx.log(f"claiming: {ctx.rounds} rounds x 2 drains of {items:,} items, {WORKERS} threads")
    answer = measure(ctx, base, items)
    samples, doubles = answer["samples"], answer["double_claims"]
    assert isinstance(samples, dict) and isinstance(doubles, int)
    service, floor = samples["service"], samples["floor"]
    return [
        Figure(key="C-rate", title=f"leases/s, {WORKERS} workers, service layer (PostgreSQL)",
               unit=Unit.PER_SECOND, summary=summarize(service), target=target,
               context={"items": items, "floor_leases_s": summarize(floor).median}),
        Figure(key="C-ratio", title="leases/s, service layer / bare SKIP LOCKED update",
               unit=Unit.RATIO, summary=summarize(paired_ratios(service, floor))),
        Figure(key="C-double", title="double claims (and unclaimed items), all drains",
               unit=Unit.RATIO, summary=summarize([float(doubles)]),
               target=Target("claims", Comparison.AT_MOST, 0.0),
               context={"unclaimed": answer["unclaimed"]},
               note="a count, not a ratio: must be 0"),
    ]
