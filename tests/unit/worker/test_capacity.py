"""Job slots per worker: one per two cores, bounded by memory, never zero."""

from pathlib import Path

import pytest

from strongroom.worker.capacity import MEMORY_PER_JOB, job_slots, this_machine_slots

pytestmark = pytest.mark.unit
GIB = 1024**3


@pytest.mark.parametrize(
    ("cores", "memory", "slots"),
    [
        (1, 64 * GIB, 1),  # never zero
        (2, 24 * GIB, 1),
        (8, 24 * GIB, 4),
        (8, 3 * GIB, 2),  # memory-bound
        (64, 2 * GIB, 1),
        (0, 0, 1),
    ],
)
def test_slots(cores, memory, slots):
    assert job_slots(cores, memory) == slots


def test_this_machine_reads_available_memory(tmp_path: Path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 100 kB\nMemAvailable:   1024 kB\n")
    assert this_machine_slots(meminfo) == 1  # 1 MiB available: one job, the minimum
    assert this_machine_slots(tmp_path / "missing") >= 1
    assert MEMORY_PER_JOB > GIB
