"""T12: a tus upload over TLS to a live `strongroom serve` vs the Node tus reference server and
vs a trivial streaming sink, all three driven by the same client (``bench.tus_client``).

Strongroom hashes (SHA-256) and encrypts (AES-GCM) every byte into its object store as it
streams, and records each PATCH in its database; Node's @tus/file-store writes plain bytes to
a file; the sink discards. Rounds are interleaved (strongroom, node, sink rotated). The edge's
peak resident memory is taken per upload by resetting its high-water mark (``clear_refs``)
before each one and reading VmHWM after.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from bench.abrun import interleave
from bench.context import BenchContext
from bench.edge_server import EdgeServer, running_edge
from bench.listeners import NodeUnavailable, memory_kib, node_tus, sink
from bench.model import Comparison, Figure, Target, Unit, skipped
from bench.payload import MIB, payload_bytes, plain_file
from bench.proctree import PROC
from bench.stats import paired_ratios, summarize
from bench.tus_client import PATCH_BYTES, tls_client, upload

PER_UPLOAD_MIB = 128.0
Peaks = list[dict[str, float]]  # per upload: the edge's idle and peak RSS, MiB


def reset_peak(pid: int) -> None:
    """Reset the process's VmHWM to its current RSS (Linux >= 4.0, own processes)."""
    (PROC / str(pid) / "clear_refs").write_text("5")


def strongroom_upload(edge: EdgeServer, source: Path, peaks: Peaks) -> Callable[[], float]:
    """One timed upload to the edge per call; records the edge's idle and peak RSS (MiB)."""
    tokens = iter(edge.seed("upload-tasks", "--count", "64")["tokens"])
    client = tls_client(edge.ca)

    def run() -> float:
        url = f"{edge.url}/v1/upload_file/{next(tokens)}"
        reset_peak(edge.pid)
        idle = memory_kib(edge.pid)["VmRSS"] / 1024
        started = time.perf_counter()
        upload(client, url, source)
        elapsed = time.perf_counter() - started
        peaks.append({"idle": idle, "peak": memory_kib(edge.pid)["VmHWM"] / 1024})
        return elapsed
    return run


def other_upload(url: str, ca: Path, source: Path) -> Callable[[], float]:
    """One timed upload per call to a baseline server's tus endpoint."""
    client = tls_client(ca)

    def run() -> float:
        started = time.perf_counter()
        upload(client, url, source)
        return time.perf_counter() - started
    return run


def measure(ctx: BenchContext, source: Path) -> tuple[dict[str, list[float]], Peaks]:
    """Start the three servers, run the interleaved rounds; samples and edge memory."""
    peaks: Peaks = []
    with ExitStack() as stack:
        edge = stack.enter_context(running_edge(ctx.scratch, "uploads-edge"))
        node = stack.enter_context(node_tus(ctx.cache, edge.cert, edge.key,
                                            ctx.scratch / "node-files"))
        floor = stack.enter_context(sink(edge.cert, edge.key))
        variants = {
            "strongroom": strongroom_upload(edge, source, peaks),
            "node": other_upload(f"https://127.0.0.1:{node.port}/files", edge.ca, source),
            "sink": other_upload(f"https://127.0.0.1:{floor.port}/files", edge.ca, source),
        }
        stack.callback(shutil.rmtree, ctx.scratch / "node-files", ignore_errors=True)
        samples = interleave(variants, ctx.rounds, warmup=True)
    return samples, peaks[1:]  # the warm-up upload's memory is not a round's


def run(ctx: BenchContext) -> list[Figure]:
    """T12 figures: ratios to Node and to the sink, and the edge's memory per upload."""
    size = payload_bytes(ctx.quick)
    source = plain_file(ctx.cache, size)
    ctx.log(f"uploads: {ctx.rounds} rounds x 3 servers x {size // MIB} MiB")
    try:
        samples, peaks = measure(ctx, source)
    except NodeUnavailable as exc:
        return [skipped("T12-node", "tus upload, strongroom / Node tus server", Unit.RATIO,
                        str(exc), Target("T12", Comparison.AT_MOST, 1.0))]
    ours, node, floor = samples["strongroom"], samples["node"], samples["sink"]
    speed = {name: size / MIB / summarize(values).median for name, values in samples.items()}
    context = {"MiB": size // MIB, "patch_MiB": PATCH_BYTES // MIB,
               "strongroom_MiB_s": speed["strongroom"], "node_MiB_s": speed["node"],
               "sink_MiB_s": speed["sink"]}
    growth = [p["peak"] - p["idle"] for p in peaks]
    return [
        Figure(key="T12-node", title="tus upload over TLS, strongroom / Node tus server",
               unit=Unit.RATIO, summary=summarize(paired_ratios(ours, node)),
               target=Target("T12", Comparison.AT_MOST, 1.0), context=context),
        Figure(key="T12-sink", title="tus upload over TLS, strongroom / streaming sink",
               unit=Unit.RATIO, summary=summarize(paired_ratios(ours, floor)),
               target=Target("T12", Comparison.AT_MOST, 1.5),
               context={"strongroom_s": summarize(ours).median,
                        "sink_s": summarize(floor).median}),
        Figure(key="T12-rss", title="edge RSS growth during one upload",
               unit=Unit.MIB, summary=summarize(growth),
               target=Target("T12", Comparison.AT_MOST, PER_UPLOAD_MIB),
               context={"edge_peak_MiB": max(p["peak"] for p in peaks),
                        "edge_idle_MiB": summarize([p["idle"] for p in peaks]).median},
               note="peak minus the edge's resident size just before the upload"),
    ]
