"""T9: inline SHA-256 as the edge does it against hashlib on the same buffers.

The edge hashes request bodies piece by piece as the ASGI server delivers them (64 KiB
messages), so "inline" here is ``hashlib.sha256().update`` per 64 KiB view; the floor is one
``update`` per 1 MiB buffer in memory, and ``hashlib.file_digest`` from the page cache.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from bench.abrun import interleave
from bench.context import BenchContext
from bench.encryption import timed
from bench.model import Comparison, Figure, Target, Unit
from bench.payload import CHUNK, MIB, iter_blocks, memory_chunks, payload_bytes, plain_file
from bench.stats import paired_ratios, summarize

ASGI_PIECE = 64 << 10


def inline_digest(chunks: list[bytes]) -> bytes:
    """Hash each buffer in ASGI-sized pieces (views, no copies)."""
    hasher = hashlib.sha256()
    for chunk in chunks:
        view = memoryview(chunk)
        for start in range(0, len(view), ASGI_PIECE):
            hasher.update(view[start:start + ASGI_PIECE])
    return hasher.digest()


def whole_digest(chunks: list[bytes]) -> bytes:
    """The floor: one update per 1 MiB buffer."""
    hasher = hashlib.sha256()
    for chunk in chunks:
        hasher.update(chunk)
    return hasher.digest()


def inline_file_digest(path: Path) -> bytes:
    """Read the file in 1 MiB blocks and hash them in ASGI-sized pieces."""
    hasher = hashlib.sha256()
    for block in iter_blocks(path, CHUNK):
        view = memoryview(block)
        for start in range(0, len(view), ASGI_PIECE):
            hasher.update(view[start:start + ASGI_PIECE])
    return hasher.digest()


def file_digest(path: Path) -> bytes:
    """The floor from the page cache: ``hashlib.file_digest``."""
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").digest()


def run(ctx: BenchContext) -> list[Figure]:
    """T9 in memory and from the page cache (throughput ratios, target >= 0.95)."""
    total = payload_bytes(ctx.quick)
    chunks, path = memory_chunks(total), plain_file(ctx.cache, total)
    ctx.log(f"checksums: SHA-256 over {total // MIB} MiB, {ctx.rounds + 2} rounds")
    samples = interleave({
        "inline": lambda: timed(lambda: inline_digest(chunks)),
        "hashlib": lambda: timed(lambda: whole_digest(chunks)),
        "inline_file": lambda: timed(lambda: inline_file_digest(path)),
        "file_digest": lambda: timed(lambda: file_digest(path)),
    }, ctx.rounds + 2, warmup=True)
    context = {f"{n}_MiB_s": total / MIB / summarize(samples[n]).median for n in samples}
    target = Target("T9", Comparison.AT_LEAST, 0.95)
    return [
        Figure(key="T9", title="SHA-256 in memory, inline 64 KiB / hashlib 1 MiB (throughput)",
               unit=Unit.RATIO, target=target, context=context,
               summary=summarize(paired_ratios(samples["hashlib"], samples["inline"]))),
        Figure(key="T9-file", title="SHA-256 from page cache, inline / hashlib.file_digest",
               unit=Unit.RATIO, target=target,
               summary=summarize(paired_ratios(samples["file_digest"],
                                               samples["inline_file"]))),
    ]
