"""Autoscaling the local workers of `strongroom serve` between a minimum and a maximum.

The decision is a pure function of what was observed (queue depth, busy workers, load, cores),
tested without processes; `LocalScaler` only observes and applies it every few seconds.
Scaling down retires an idle worker with SIGTERM, so nothing in flight is lost.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)
INTERVAL_SECONDS = 5.0


@dataclass(frozen=True)
class ScalePolicy:
    minimum: int
    maximum: int
    idle_seconds: float = 60.0  # how long the queue must stay empty before shrinking
    max_load_per_core: float = 1.0  # grow only while the 1-minute load stays below this

    @classmethod
    def parse(cls, value: str, cores: int, max_load_per_core: float = 1.0) -> ScalePolicy:
        """`N` (fixed), `MIN:MAX`, or `auto` (1 to one per core)."""
        if value == "auto":
            return cls(1, max(1, cores), max_load_per_core=max_load_per_core)
        low, _, high = value.partition(":")
        try:
            minimum, maximum = int(low), int(high or low)
        except ValueError:
            minimum, maximum = -1, -1
        if not 0 <= minimum <= maximum <= 64:
            raise ValueError("--workers must be N, MIN:MAX (0-64) or auto")
        return cls(minimum, maximum, max_load_per_core=max_load_per_core)


@dataclass(frozen=True)
class Observation:
    ready: int  # work items claimable now
    running: int  # local worker processes
    busy: int  # local workers holding a lease
    load: float  # 1-minute load average
    cores: int
    idle_for: float  # seconds since work was last waiting or running


def decide(policy: ScalePolicy, seen: Observation) -> int:
    """+1 to start a worker, -1 to retire one, 0 to hold."""
    if seen.running < policy.minimum:
        return +1
    backlog = seen.ready > 0 and seen.busy >= seen.running
    spare_cores = seen.load < seen.cores * policy.max_load_per_core
    if backlog and seen.running < policy.maximum and spare_cores:
        return +1
    idle = seen.ready == 0 and seen.busy == 0 and seen.idle_for >= policy.idle_seconds
    if idle and seen.running > policy.minimum:
        return -1
    return 0


class LocalScaler:
    """Observes every few seconds and calls `grow()` / `shrink()` as `decide` says."""

    def __init__(
        self,
        policy: ScalePolicy,
        observe: Callable[[float], Observation],
        grow: Callable[[], None],
        shrink: Callable[[], None],
    ) -> None:
        self.policy, self._observe, self._grow, self._shrink = policy, observe, grow, shrink
        self._stop = threading.Event()
        self._last_busy = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="autoscaler", daemon=True)

    def start(self) -> None:
        if self.policy.minimum != self.policy.maximum:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(INTERVAL_SECONDS):
            try:
                self._step()
            except Exception:  # a failed look (database busy) must not end scaling for good
                logger.exception("autoscaler: observation failed; retrying")

    def _step(self) -> None:
        seen = self._observe(time.monotonic() - self._last_busy)
        if seen.ready or seen.busy:
            self._last_busy = time.monotonic()
        change = decide(self.policy, seen)
        if change > 0:
            logger.info(
                "autoscaler: %d ready, %d/%d busy: starting a worker",
                seen.ready,
                seen.busy,
                seen.running,
            )
            self._grow()
        elif change < 0:
            logger.info("autoscaler: idle for %.0f s: retiring a worker", seen.idle_for)
            self._shrink()


def load_average() -> float:
    return os.getloadavg()[0]
