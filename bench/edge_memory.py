"""Edge memory: peak resident memory of one `strongroom serve` process while it takes 4 tus
uploads and serves 4 signed-URL downloads at once (1 GiB each; ``--quick`` 256 MiB).

Uploads are hashed and encrypted as they stream in; downloads are decrypted as they stream
out. The edge's high-water mark is reset (``clear_refs``) before each round and read after,
so each round is one sample. Absolute bound, no baseline: the figure is the whole process,
Django, uvicorn and TLS included, with its idle size in the context.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.context import BenchContext
from bench.edge_server import EdgeServer, running_edge
from bench.listeners import memory_kib
from bench.model import Comparison, Figure, Target, Unit
from bench.payload import MIB, payload_bytes, plain_file
from bench.stats import summarize
from bench.tus_client import tls_client, upload
from bench.uploads import reset_peak

STREAMS = 4
BOUND_MIB = 300.0


def upload_once(edge: EdgeServer, token: str, source: Path) -> None:
    """One tus upload of ``source`` on a client of its own (a connection per stream)."""
    with tls_client(edge.ca) as client:
        upload(client, f"{edge.url}/v1/upload_file/{token}", source)


def download(edge: EdgeServer, path: str, size: int) -> None:
    """Stream one media object and throw the bytes away; checks the length."""
    received = 0
    with tls_client(edge.ca) as client, client.stream("GET", edge.url + path) as response:
        if response.status_code != 200:
            raise RuntimeError(f"download answered {response.status_code}")
        for block in response.iter_raw(1 << 20):
            received += len(block)
    if received != size:
        raise RuntimeError(f"download got {received} of {size} bytes")


def one_round(edge: EdgeServer, source: Path, media: list[str], size: int
              ) -> dict[str, float]:
    """4 uploads and 4 downloads at once; the edge's idle and peak RSS (MiB), wall seconds."""
    tokens = edge.seed("upload-tasks", "--count", str(STREAMS))["tokens"]
    reset_peak(edge.pid)
    idle = memory_kib(edge.pid)["VmRSS"] / 1024
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2 * STREAMS) as pool:
        jobs = [pool.submit(upload_once, edge, token, source) for token in tokens]
        jobs += [pool.submit(download, edge, path, size) for path in media]
        for job in jobs:
            job.result()
    return {"idle": idle, "peak": memory_kib(edge.pid)["VmHWM"] / 1024,
            "wall": time.perf_counter() - started}


def run(ctx: BenchContext) -> list[Figure]:
    """The peak per round (target < 300 MiB), idle size and wall time for context."""
    size = payload_bytes(ctx.quick)
    source = plain_file(ctx.cache, size)
    with running_edge(ctx.scratch, "memory-edge") as edge:
        ctx.log(f"edge_memory: storing {STREAMS} x {size // MIB} MiB to download")
        media = edge.seed("media", "--size", str(size), "--count", str(STREAMS))["paths"]
        ctx.log(f"edge_memory: {ctx.rounds} rounds of {STREAMS} up + {STREAMS} down")
        rounds = [one_round(edge, source, media, size) for _ in range(ctx.rounds)]
    return [Figure(
        key="M-edge", title=f"edge peak RSS, {STREAMS} uploads + {STREAMS} downloads at once",
        unit=Unit.MIB, summary=summarize([r["peak"] for r in rounds]),
        target=Target("memory", Comparison.AT_MOST, BOUND_MIB),
        context={"MiB_each": size // MIB,
                 "idle_MiB": summarize([r["idle"] for r in rounds]).median,
                 "wall_s": summarize([r["wall"] for r in rounds]).median,
                 "MiB_s_total": 2 * STREAMS * size / MIB
                 / summarize([r["wall"] for r in rounds]).median})]
