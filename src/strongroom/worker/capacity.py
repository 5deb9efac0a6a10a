"""How many jobs one worker runs at once, from its cores and memory.

An encode wants about two cores (x264 and the decoder each scale past one; more threads per
job add little at the rungs we encode), and a 1080p ladder peaks near 1.5 GiB of resident
memory with its sandbox. A machine gets one job per pair of cores, fewer if memory is short,
and always at least one.
"""

from __future__ import annotations

import os
from pathlib import Path

CORES_PER_JOB = 2
MEMORY_PER_JOB = 3 * 1024**3 // 2  # 1.5 GiB


def job_slots(cores: int, memory_bytes: int) -> int:
    """Concurrent jobs for a machine with `cores` and `memory_bytes` available."""
    by_cores = cores // CORES_PER_JOB
    by_memory = memory_bytes // MEMORY_PER_JOB
    return max(1, min(by_cores, by_memory))


def this_machine_slots(meminfo: Path = Path("/proc/meminfo")) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return job_slots(cores or 1, _available_memory(meminfo))


def _available_memory(meminfo: Path) -> int:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return MEMORY_PER_JOB  # unknown: enough for one job, the minimum anyway
