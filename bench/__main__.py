"""``python -m bench [--quick] [--only NAME ...] [--rounds N]``: run, print, write JSON."""

from __future__ import annotations

import argparse
import datetime
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench import (
    apikeys,
    checksums,
    claiming,
    edge_memory,
    encryption,
    request_log_search,
    status_api,
    transcode,
    uploads,
)
from bench.context import BenchContext, Benchmark
from bench.machine import machine_facts
from bench.model import Figure
from bench.report import render_table, tally, write_json
from strongroom.media.runner import find_ffmpeg

BENCH_DIR = Path(__file__).resolve().parent
BENCHMARKS: dict[str, Benchmark] = {
    "apikeys": apikeys.run,
    "checksums": checksums.run,
    "claiming": claiming.run,
    "edge_memory": edge_memory.run,
    "encryption": encryption.run,
    "request_log_search": request_log_search.run,
    "status_api": status_api.run,
    "transcode": transcode.run,
    "uploads": uploads.run,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; ``--rounds`` defaults to 3 with ``--quick`` and 5 otherwise."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="10 s source and 256 MiB files instead of 60 s and 1 GiB")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), default=None,
                        help="run only these benchmarks")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved repetitions")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "latest.json")
    return parser.parse_args(argv)


def run_all(ctx: BenchContext, names: Sequence[str]) -> list[Figure]:
    """Run the named benchmarks in order and collect their figures."""
    figures: list[Figure] = []
    for name in names:
        started = time.monotonic()
        figures += BENCHMARKS[name](ctx)
        ctx.log(f"{name}: done in {time.monotonic() - started:.0f} s")
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks; exit 0 even when targets are missed (the table says so)."""
    args = parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 5)
    ffmpeg = find_ffmpeg()
    cache = BENCH_DIR / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="run-", dir=cache))
    ctx = BenchContext(quick=args.quick, rounds=rounds, cache=cache, scratch=scratch,
                       ffmpeg=ffmpeg)
    started = datetime.datetime.now(datetime.UTC)
    try:
        figures = run_all(ctx, args.only or list(BENCHMARKS))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    payload = {
        "started": started.isoformat(timespec="seconds"),
        "quick": args.quick,
        "rounds": rounds,
        "machine": machine_facts(ffmpeg),
        "figures": [figure.to_dict() for figure in figures],
        "tally": tally(figures),
    }
    write_json(args.out, payload)
    print(render_table(figures))
    print(f"\n{tally(figures)}; written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
