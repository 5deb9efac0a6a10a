"""Local child processes behind `strongroom serve`: encoder workers and the background consumer.

Each child is the same `strongroom` command an operator would run on another host
(`strongroom worker run …`, `strongroom background`), started with an argument list (never a
shell) in its own process group, restarted with backoff if it dies, and stopped with SIGTERM
(then SIGKILL after a grace period) when the edge stops.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)
STOP_GRACE_SECONDS = 30.0
MAX_RESTART_DELAY = 30.0


@dataclass
class Child:
    name: str
    argv_factory: Callable[[], list[str]]  # rebuilt on restart (e.g. a fresh join token)
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    env: dict[str, str] = field(default_factory=dict)


def strongroom_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "strongroom", *args]


class Supervisor:
    def __init__(self, children: Sequence[Child]) -> None:
        self.children = list(children)
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._retiring: list[subprocess.Popen[bytes]] = []
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)

    def start(self) -> None:
        for child in self.children:
            self._spawn(child)
        self._thread.start()

    def add(self, child: Child) -> None:
        """Start one more supervised child (the local autoscaler's scale-up)."""
        with self._lock:
            if self.stopping.is_set():
                return
            self._spawn(child)
            self.children.append(child)

    def retire(self, name: str) -> None:
        """Stop supervising `name` and ask it to exit (SIGTERM: it drains its job first)."""
        with self._lock:
            found = [c for c in self.children if c.name == name]
            self.children = [c for c in self.children if c.name != name]
        for child in found:
            if child.process and child.process.poll() is None:
                _signal_group(child.process, signal.SIGTERM)
                self._retiring.append(child.process)

    def _spawn(self, child: Child) -> None:
        child.process = subprocess.Popen(
            child.argv_factory(),
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **child.env},
        )
        logger.info("started %s (pid %d)", child.name, child.process.pid)

    def _watch(self) -> None:
        while not self.stopping.wait(1.0):
            with self._lock:
                for child in self.children:
                    self._maybe_restart(child)
            self._retiring = [p for p in self._retiring if p.poll() is None]  # reap exits

    def _maybe_restart(self, child: Child) -> None:
        if child.process is None or child.process.poll() is None or self.stopping.is_set():
            return
        now = time.monotonic()
        if child.next_start == 0.0:
            child.restarts += 1
            delay = min(MAX_RESTART_DELAY, 2.0 ** min(child.restarts, 5))
            child.next_start = now + delay
            logger.warning(
                "%s exited with %s; restarting in %.0f s",
                child.name,
                child.process.returncode,
                delay,
            )
        elif now >= child.next_start:
            child.next_start = 0.0
            self._spawn(child)

    def stop(self) -> None:
        """SIGTERM every child (they finish or hand back their work), SIGKILL stragglers."""
        self.stopping.set()
        with self._lock:
            processes = [c.process for c in self.children if c.process] + self._retiring
        running = [p for p in processes if p.poll() is None]
        for process in running:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # it already exited
        os.killpg(process.pid, sig)
