"""Sample a process tree from /proc: peak RSS (VmHWM) and CPU seconds of every descendant.

Needed because the media sandbox (bubblewrap with a PID namespace) does not hand its
children's resource usage back to the waiting parent, so ``wait4``/``RUSAGE_CHILDREN`` see
almost nothing of a sandboxed ffmpeg. Reading /proc every ``INTERVAL`` seconds costs a few
file reads per process; the CPU of a process's last interval before exit is lost (at most
``INTERVAL`` x threads), which the harness accepts and documents.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

INTERVAL = 0.05
PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK")


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (every thread's ``children`` file); [] once it is gone."""
    found: list[int] = []
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(text) for text in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, breadth first."""
    pending, seen = children_of(pid), []
    while pending:
        child = pending.pop()
        seen.append(child)
        pending += children_of(child)
    return seen


def parse_cpu_seconds(stat: str) -> float:
    """utime + stime from a /proc/<pid>/stat line (fields after the ``)`` of the name)."""
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def parse_hwm_kib(status: str) -> int:
    """VmHWM (peak resident set, KiB) from /proc/<pid>/status; 0 when absent (kernel thread)."""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


@dataclass
class TreeSampler:
    """Keeps, per descendant pid, the largest CPU seconds and VmHWM seen."""

    root: int
    cpu: dict[int, float] = field(default_factory=dict)
    hwm: dict[int, int] = field(default_factory=dict)

    def sample(self) -> None:
        """Read every current descendant once; vanished processes are skipped."""
        for pid in descendants(self.root):
            try:
                stat = (PROC / str(pid) / "stat").read_text()
                status = (PROC / str(pid) / "status").read_text()
            except OSError:
                continue
            self.cpu[pid] = max(self.cpu.get(pid, 0.0), parse_cpu_seconds(stat))
            self.hwm[pid] = max(self.hwm.get(pid, 0), parse_hwm_kib(status))

    @property
    def total_cpu(self) -> float:
        """Sum of the descendants' CPU seconds seen."""
        return sum(self.cpu.values())

    @property
    def peak_kib(self) -> int:
        """The largest VmHWM of any descendant seen."""
        return max(self.hwm.values(), default=0)
