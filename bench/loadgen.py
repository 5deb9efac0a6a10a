"""A closed-loop HTTP load generator: N keep-alive TLS connections, each sending its next request
as soon as the previous answer arrived, for a fixed time. asyncio + httpx (HTTP/1.1).

Why our own: wrk is not part of the project's dependencies (and often not installed), and the
figures are ratios between two routes driven by this same generator, so its own cost cancels
out as long as it is not the bottleneck; ``client_cpu_share`` (generator CPU / wall) and
``server_cpu_share`` say how close each side came to a full core.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.proctree import PROC, parse_cpu_seconds
from bench.stats import quantile


@dataclass(frozen=True)
class Request:
    """One request to send: method, path, body and extra headers."""

    method: str
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadResult:
    """Completed requests per second, latency quantiles (seconds), errors, CPU shares."""

    per_second: float
    p50: float
    p99: float
    errors: int
    client_cpu_share: float
    server_cpu_share: float


def _cpu(pid: int) -> float:
    try:
        return parse_cpu_seconds((PROC / str(pid) / "stat").read_text())
    except OSError:
        return 0.0


async def _drive(base: str, ca: Path, make: Callable[[], Request], connections: int,
                 seconds: float) -> tuple[list[float], int]:
    context = ssl.create_default_context(cafile=str(ca))
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(base_url=base, verify=context, limits=limits,
                                 timeout=60.0) as client:
        async def one_connection() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                request = make()
                started = time.perf_counter()
                response = await client.request(request.method, request.path,
                                                content=request.body, headers=request.headers)
                latencies.append(time.perf_counter() - started)
                errors += response.status_code != 200
        # Open every connection before the clock starts: handshakes are not the figure.
        await asyncio.gather(*(client.get("/healthz") for _ in range(connections)))
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*(one_connection() for _ in range(connections)))
    return latencies, errors


def generate_load(base: str, ca: Path, make: Callable[[], Request], connections: int,
                  seconds: float, server_pid: int = 0) -> LoadResult:
    """Drive ``connections`` closed loops for ``seconds``; throughput, latency, CPU shares."""
    cpu_before, server_before = time.process_time(), _cpu(server_pid)
    started = time.perf_counter()
    latencies, errors = asyncio.run(_drive(base, ca, make, connections, seconds))
    wall = time.perf_counter() - started
    return LoadResult(per_second=len(latencies) / seconds, p50=quantile(latencies, 0.5),
                      p99=quantile(latencies, 0.99), errors=errors,
                      client_cpu_share=(time.process_time() - cpu_before) / wall,
                      server_cpu_share=(_cpu(server_pid) - server_before) / wall)
