"""Shared inputs for the byte-crunching benchmarks: random 1 MiB chunks and a cached file."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

CHUNK = 1 << 20
MIB = 1 << 20
GIB = 1 << 30


def payload_bytes(quick: bool) -> int:
    """256 MiB with ``--quick``, 1 GiB otherwise (the baselines' size)."""
    return 256 * MIB if quick else GIB


def memory_chunks(total: int) -> list[bytes]:
    """``total`` bytes as 1 MiB chunks; one random chunk repeated (AES and SHA don't care,
    and the harness stays small in memory)."""
    chunk = secrets.token_bytes(CHUNK)
    return [chunk] * (total // CHUNK)


def plain_file(cache: Path, total: int) -> Path:
    """A cached file of ``total`` random bytes (generated once, written in 1 MiB blocks)."""
    path = cache / f"plain-{total // MIB}MiB.bin"
    if path.is_file() and path.stat().st_size == total:
        return path
    partial = path.with_suffix(".partial")
    with partial.open("wb") as stream:
        for _ in range(total // CHUNK):
            stream.write(os.urandom(CHUNK))
    partial.replace(path)
    return path



def iter_blocks(path: Path, size: int = CHUNK) -> Iterator[bytes]:
    """Yield the file's bytes in ``size`` blocks (how the service reads a stored source)."""
    with path.open("rb", buffering=0) as stream:
        while block := stream.read(size):
            yield block
