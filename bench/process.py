"""Measure an action in a forked child: wall time, CPU of the child and everything it
started, and the peak RSS of the largest process it started (ffmpeg), per repetition.

``RUSAGE_CHILDREN``'s ``ru_maxrss`` is a high-water mark over a process's whole life, so the
harness cannot take per-run deltas of its own; a fresh forked child starts from zero. Usage
of sandboxed grandchildren does not reach ``wait4`` (see ``bench.proctree``), so the parent
also samples the child's process tree and takes whichever account is larger.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Callable

from bench.abrun import Sample
from bench.proctree import INTERVAL, TreeSampler


class ChildFailed(RuntimeError):
    """The measured action raised in the child; the message is its type and text."""


def _child_main(action: Callable[[], None], write_fd: int) -> None:
    status = 0
    payload: dict[str, float | str]
    try:
        action()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = resource.getrusage(resource.RUSAGE_SELF)
        payload = {"peak_rss_kib": children.ru_maxrss, "self_cpu": own.ru_utime + own.ru_stime}
    except BaseException as exc:  # everything, even SystemExit, must reach the parent as text
        payload = {"error": f"{type(exc).__name__}: {str(exc)[:2000]}"}
        status = 1
    with os.fdopen(write_fd, "w") as pipe:
        pipe.write(json.dumps(payload))  # small: fits the pipe buffer, never blocks
    os._exit(status)


def _watch(pid: int) -> tuple[float, resource.struct_rusage, TreeSampler]:
    """Sample ``pid``'s tree until it exits; return (wall end, its rusage, the sampler)."""
    sampler = TreeSampler(pid)
    while True:
        done, _, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return time.perf_counter(), usage, sampler
        sampler.sample()
        time.sleep(INTERVAL)


def measure_forked(action: Callable[[], None]) -> Sample:
    """Run ``action`` in a forked child and measure it.

    CPU is the child's own time plus its whole process tree (Python supervision included);
    the peak RSS is the largest process the child started. Raises ``ChildFailed`` when the
    action raised. Call only while the harness is single-threaded (it forks).
    """
    read_fd, write_fd = os.pipe()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child_main(action, write_fd)
    os.close(write_fd)
    ended, usage, sampler = _watch(pid)
    with os.fdopen(read_fd) as pipe:
        payload = json.loads(pipe.read() or '{"error": "child exited without a report"}')
    if "error" in payload:
        raise ChildFailed(payload["error"])
    accounted = usage.ru_utime + usage.ru_stime
    return Sample(wall=ended - started,
                  cpu=max(accounted, payload["self_cpu"] + sampler.total_cpu),
                  peak_rss_kib=max(int(payload["peak_rss_kib"]), sampler.peak_kib))
