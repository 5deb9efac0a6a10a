"""The encoder workers `strongroom serve` runs on its own host, and their autoscaling.

Each is the standalone `strongroom worker run` command with a state folder `local-<n>` in the
data directory, so it keeps its identity across restarts (a join token is made only when it has
none for this edge URL).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from django.db import close_old_connections
from django.utils import timezone

from strongroom.cli.autoscale import LocalScaler, Observation, ScalePolicy, load_average
from strongroom.cli.init import Initialised
from strongroom.cli.supervisor import Child, Supervisor, strongroom_argv

PREFIX = "worker-"


class LocalWorkers:
    def __init__(
        self,
        init: Initialised,
        url: str,
        ca: Path | None,
        supervisor: Supervisor,
        policy: ScalePolicy,
    ) -> None:
        self.init, self.url, self.ca, self.supervisor = init, url, ca, supervisor
        self.scaler = LocalScaler(policy, self.observe, self.grow, self.shrink)

    def start(self) -> None:
        for _ in range(self.scaler.policy.minimum):
            self.grow()
        self.scaler.start()

    def stop(self) -> None:
        self.scaler.stop()

    def indexes(self) -> list[int]:
        return sorted(
            int(c.name.removeprefix(PREFIX))
            for c in self.supervisor.children
            if c.name.startswith(PREFIX)
        )

    def grow(self) -> None:
        taken = set(self.indexes())
        index = next(i for i in range(len(taken) + 1) if i not in taken)  # reuse identities
        state_dir = self.init.data.workers / f"local-{index}"
        self.supervisor.add(
            Child(name=f"{PREFIX}{index}", argv_factory=worker_argv(self.url, self.ca, state_dir))
        )

    def shrink(self) -> None:
        indexes = self.indexes()
        if indexes:
            self.supervisor.retire(f"{PREFIX}{indexes[-1]}")

    def observe(self, idle_for: float) -> Observation:
        from strongroom.edge.jobs.models import WorkItem  # noqa: PLC0415  (Django is set up)
        from strongroom.edge.jobs.services.leases import claimable_count_by_lane  # noqa: PLC0415
        from strongroom.edge.jobs.states import WorkItemStatus  # noqa: PLC0415

        names = [f"local-{i}" for i in self.indexes()]
        try:
            busy = WorkItem.objects.filter(
                status=WorkItemStatus.LEASED,
                worker__name__in=names,
                lease_expires_at__gte=timezone.now(),
            ).count()
            ready = sum(claimable_count_by_lane().values())
        finally:
            close_old_connections()  # this runs in the scaler's own thread
        return Observation(
            ready=ready,
            running=len(names),
            busy=busy,
            load=load_average(),
            cores=os.cpu_count() or 1,
            idle_for=idle_for,
        )


def worker_argv(url: str, ca: Path | None, state_dir: Path) -> Callable[[], list[str]]:
    def build() -> list[str]:
        argv = strongroom_argv(
            "worker",
            "run",
            "--edge",
            url,
            "--state-dir",
            str(state_dir),
            "--name",
            state_dir.name,
            "--slots",
            "1",  # one job per local process: `serve` scales the number of processes instead
        )
        if ca is not None:  # the local CA; with the operator's certificates: the system's CAs
            argv += ["--ca", str(ca)]
        if not _has_identity(state_dir, url):
            argv += ["--join", _join_token()]
        return argv

    return build


def _has_identity(state_dir: Path, url: str) -> bool:
    from strongroom.worker.identity import load_identity  # noqa: PLC0415

    try:
        return load_identity(state_dir, url) is not None
    except Exception:
        return False


def _join_token() -> str:
    from strongroom.edge.jobs.services.workers import create_join_token  # noqa: PLC0415

    try:
        return create_join_token(("local",))
    finally:
        close_old_connections()
