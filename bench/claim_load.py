"""The claiming benchmark's measuring process (Django on a throw-away PostgreSQL database).

``DATABASE_URL=... python -m bench.claim_load --data-dir D --items N --workers 50 --rounds R``
seeds N queued work items over ten projects (bulk inserts: setup, not under test), then per
round lets 50 threads drain the queue twice, interleaved: through the service layer
(``leases.claim_next``, one enrolled worker per thread) and through the floor, one bare
``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED) RETURNING id`` per claim. Between
drains every item is put back. Prints JSON: leases/s per drain and the double claims seen.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench.abrun import interleave

FLOOR_SQL = """
UPDATE {table} SET status = %s, attempts = attempts + 1, lease_id = %s, worker_id = %s,
       lease_expires_at = now() + interval '5 minutes'
WHERE id = (SELECT id FROM {table} WHERE status = %s ORDER BY priority DESC, created_at
            LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING id
"""


def seed(items: int, workers: int) -> list[Any]:
    """``items`` queued work items (and their tasks) over ten projects; ``workers`` workers."""
    from strongroom.edge.accounts.services import ensure_project  # noqa: PLC0415
    from strongroom.edge.jobs.models import Task, Worker, WorkItem  # noqa: PLC0415
    from strongroom.edge.jobs.states import TaskStatus  # noqa: PLC0415
    projects = [ensure_project("Bench", f"claims-{n}") for n in range(10)]
    tasks = Task.objects.bulk_create(
        [Task(project=projects[n % 10], token=secrets.token_hex(16), status=TaskStatus.QUEUED)
         for n in range(items)], batch_size=2000)
    WorkItem.objects.bulk_create([WorkItem(task=task) for task in tasks], batch_size=2000)
    return [Worker.objects.create(worker_id=f"wrk_{n:024x}", name=f"bench-{n}",
                                  public_key="A" * 43) for n in range(workers)]


def put_back() -> None:
    """Every item queued and unleased again, every task back to queued; fresh planner
    statistics (autovacuum would have them in production: without, PostgreSQL picks nested
    loops on row estimates of 1 and the service runs 4x slower than it would)."""
    from django.db import connection  # noqa: PLC0415

    from strongroom.edge.jobs.models import Task, WorkItem  # noqa: PLC0415
    from strongroom.edge.jobs.states import TaskStatus, WorkItemStatus  # noqa: PLC0415
    WorkItem.objects.update(status=WorkItemStatus.QUEUED, attempts=0, lease_id=None,
                            lease_expires_at=None, worker=None)
    Task.objects.update(status=TaskStatus.QUEUED)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def service_claim(worker: Any) -> int | None:
    from strongroom.edge.jobs.services.leases import claim_next  # noqa: PLC0415
    lease = claim_next(worker)
    return None if lease is None else int(lease.item.pk)


def floor_claim(worker: Any) -> int | None:
    from django.db import connection, transaction  # noqa: PLC0415

    from strongroom.edge.jobs.models import WorkItem  # noqa: PLC0415
    from strongroom.edge.jobs.states import WorkItemStatus  # noqa: PLC0415
    sql = FLOOR_SQL.format(table=WorkItem._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [WorkItemStatus.LEASED.value, "lse_" + secrets.token_hex(16),
                             worker.pk, WorkItemStatus.QUEUED.value])
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def drain(claim: Callable[[Any], int | None], workers: list[Any], items: int,
          checks: dict[str, int]) -> Callable[[], float]:
    """One thread per worker claiming until the queue is empty; leases per second.

    Every item must come out exactly once per drain: ``checks`` counts items claimed twice
    (a double claim) and items never claimed, summed over drains.
    """
    def thread_main(worker: Any, barrier: threading.Barrier, claimed: list[int]) -> None:
        from django.db import connection  # noqa: PLC0415
        mine: list[int] = []
        barrier.wait()
        while (item := claim(worker)) is not None:
            mine.append(item)
        claimed.extend(mine)  # list.extend is atomic under the GIL
        connection.close()

    def run() -> float:
        put_back()
        claimed: list[int] = []
        barrier = threading.Barrier(len(workers) + 1)
        threads = [threading.Thread(target=thread_main, args=(w, barrier, claimed))
                   for w in workers]
        for thread in threads:
            thread.start()
        barrier.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        checks["double_claims"] += len(claimed) - len(set(claimed))
        checks["unclaimed"] += items - len(set(claimed))
        return len(claimed) / elapsed
    return run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.claim_load")
    for name in ("--items", "--workers", "--rounds"):
        parser.add_argument(name, type=int, required=True)
    parser.add_argument("--data-dir", required=True)
    args = parser.parse_args(argv)
    from strongroom.cli.bootstrap import migrate, setup_django  # noqa: PLC0415
    setup_django(args.data_dir)
    migrate()
    workers = seed(args.items, args.workers)
    checks = {"double_claims": 0, "unclaimed": 0}
    samples = interleave({name: drain(claim, workers, args.items, checks) for name, claim in
                          (("service", service_claim), ("floor", floor_claim))}, args.rounds)
    json.dump({"samples": samples, "items": args.items, **checks}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
