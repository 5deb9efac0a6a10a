"""The common interface of every benchmark module: ``run(ctx) -> list[Figure]``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.model import Figure


@dataclass(frozen=True)
class BenchContext:
    """What every benchmark gets: run size, repetitions, folders and the ffmpeg binary.

    ``scratch`` is an empty folder on the same disk as the cache (not a RAM disk), removed
    after the run; ``cache`` keeps generated inputs between runs.
    """

    quick: bool
    rounds: int
    cache: Path
    scratch: Path
    ffmpeg: Path

    def log(self, message: str) -> None:
        """Progress for the person waiting; on stderr so stdout carries only the table."""
        print(f"[bench] {message}", file=sys.stderr, flush=True)


Benchmark = Callable[[BenchContext], list[Figure]]
