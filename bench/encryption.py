"""T7/T8: encryption at rest, in memory and to a file, against the unwrapped primitives.

T7 compares the service's streaming envelope (``StreamEncryptor``, and ``EncryptedStore`` into
a store that discards bytes) with ``cryptography``'s AESGCM sealing the same 1 MiB chunks, and
with ``openssl speed -evp aes-256-gcm`` when the binary exists. T8 writes the same file through
``EncryptedStore(LocalStore)`` and compares with a plain Python read/write copy and with ``cp``;
both baselines fsync the result because the store does (equal durability).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench.abrun import interleave
from bench.context import BenchContext
from bench.model import Comparison, Figure, Target, Unit, skipped
from bench.payload import CHUNK, GIB, iter_blocks, memory_chunks, payload_bytes, plain_file
from bench.stats import paired_ratios, summarize
from strongroom.crypto.envelope import Keyring, LocalKek, StreamEncryptor
from strongroom.storage.encrypted import EncryptedStore
from strongroom.storage.interface import ObjectStore
from strongroom.storage.local import LocalStore

OBJECT_KEY = "bench/object"


class _Discard:
    """An object writer that drops bytes: isolates encryption from I/O."""

    def write(self, data: bytes) -> None:
        """Drop ``data``."""
        del data

    def commit(self) -> int:
        """Nothing to commit."""
        return 0

    def abort(self) -> None:
        """Nothing to discard."""


class DiscardStore:
    """Just enough of an ObjectStore for ``EncryptedStore.put``."""

    def open_write(self, key: str) -> _Discard:
        """A writer that drops everything."""
        del key
        return _Discard()


def new_keyring() -> Keyring:
    """A keyring with one fresh local KEK."""
    return Keyring(LocalKek("bench", secrets.token_bytes(32)))


def timed(action: Callable[[], object]) -> float:
    """Wall seconds of one call."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def aesgcm_raw(chunks: list[bytes]) -> None:
    """The floor: AESGCM over the same chunks, counter nonces, a fixed AAD."""
    aead, aad = AESGCM(secrets.token_bytes(32)), b"bench"
    for index, chunk in enumerate(chunks):
        aead.encrypt(index.to_bytes(12, "big"), chunk, aad)


def stream_encryptor(chunks: list[bytes], keyring: Keyring) -> None:
    """The service's envelope, chunk by chunk, output dropped."""
    encryptor = StreamEncryptor(OBJECT_KEY, keyring)
    for chunk in chunks:
        encryptor.update(chunk)
    encryptor.finish()


def openssl_seconds(total: int) -> float | None:
    """Seconds ``openssl speed`` needs for ``total`` bytes of AES-256-GCM in 1 MiB blocks,
    or None without the binary. One second of measurement per call."""
    binary = shutil.which("openssl")
    if binary is None:
        return None
    done = subprocess.run([binary, "speed", "-evp", "aes-256-gcm", "-seconds", "1", "-bytes",
                           str(CHUNK)], capture_output=True, text=True, check=True, timeout=60)
    return total / (parse_openssl_speed(done.stdout) * 1000)


def parse_openssl_speed(text: str) -> float:
    """The last column (kB/s, 1000-byte units, without the ``k``) of the AES-256-GCM row."""
    for line in text.splitlines():
        if line.lower().startswith("aes-256-gcm"):
            return float(line.split()[-1].rstrip("k"))
    raise ValueError("no aes-256-gcm row in the openssl speed output")


def memory_figures(ctx: BenchContext) -> list[Figure]:
    """T7: in-memory throughput ratios (time of the floor / time of the service)."""
    total = payload_bytes(ctx.quick)
    chunks, keyring = memory_chunks(total), new_keyring()
    # put() only ever calls open_write, which is all DiscardStore provides.
    store = EncryptedStore(cast("ObjectStore", DiscardStore()), keyring)
    variants: dict[str, Callable[[], float]] = {
        "aesgcm": lambda: timed(lambda: aesgcm_raw(chunks)),
        "stream": lambda: timed(lambda: stream_encryptor(chunks, keyring)),
        "store": lambda: timed(lambda: store.put(OBJECT_KEY, iter(chunks))),
    }
    samples = interleave(variants, ctx.rounds + 2, warmup=True)
    gib = total / GIB
    context = {f"{n}_GiB_s": gib / summarize(samples[n]).median for n in samples}
    target = Target("T7", Comparison.AT_LEAST, 0.8)
    figures = [
        Figure(key="T7", title="in-memory AEAD, StreamEncryptor / AESGCM (throughput)",
               unit=Unit.RATIO, target=target, context=context,
               summary=summarize(paired_ratios(samples["aesgcm"], samples["stream"]))),
        Figure(key="T7-store", title="in-memory AEAD, EncryptedStore.put / AESGCM",
               unit=Unit.RATIO, target=target,
               summary=summarize(paired_ratios(samples["aesgcm"], samples["store"]))),
    ]
    return [*figures, openssl_figure(ctx, chunks, keyring, total)]


def openssl_figure(ctx: BenchContext, chunks: list[bytes], keyring: Keyring,
                   total: int) -> Figure:
    """T7 alternative: the service's throughput / ``openssl speed`` (target >= 1.3)."""
    title, target = "in-memory AEAD, StreamEncryptor / openssl speed", Target(
        "T7", Comparison.AT_LEAST, 1.3)
    if openssl_seconds(CHUNK) is None:
        return skipped("T7-openssl", title, Unit.RATIO, "no openssl binary", target)
    samples = interleave({"openssl": lambda: openssl_seconds(total) or 0.0,
                          "stream": lambda: timed(lambda: stream_encryptor(chunks, keyring))},
                         ctx.rounds)
    context = {"openssl_GiB_s": total / GIB / summarize(samples["openssl"]).median}
    return Figure(key="T7-openssl", title=title, unit=Unit.RATIO, target=target,
                  context=context,
                  summary=summarize(paired_ratios(samples["openssl"], samples["stream"])))


def encrypt_to_file(source: Path, root: Path, keyring: Keyring) -> None:
    """The service path: read 1 MiB blocks, ``EncryptedStore(LocalStore).put`` (fsynced)."""
    EncryptedStore(LocalStore(root), keyring).put(OBJECT_KEY, iter_blocks(source))


def python_copy(source: Path, dest: Path) -> None:
    """Baseline: plain read/write in 1 MiB blocks, then fsync (the store fsyncs too)."""
    with dest.open("wb", buffering=0) as out:
        for block in iter_blocks(source):
            out.write(block)
        os.fsync(out.fileno())


def aesgcm_into_file(source: Path, dest: Path) -> None:
    """Reference (not the service): AESGCM ``encrypt_into`` one reused buffer, unbuffered
    writes, fsync. Shows what the file path can reach when no ciphertext is allocated."""
    aead, aad = AESGCM(secrets.token_bytes(32)), b"bench"
    sealed = bytearray(CHUNK + 16)
    with dest.open("wb", buffering=0) as out:
        for index, block in enumerate(iter_blocks(source)):
            view = memoryview(sealed)[:len(block) + 16]
            aead.encrypt_into(index.to_bytes(12, "big"), block, aad, view)
            out.write(view)
        os.fsync(out.fileno())


def cp_copy(source: Path, dest: Path) -> None:
    """Baseline: ``cp``, then fsync of the copy."""
    subprocess.run(["cp", str(source), str(dest)], check=True)
    fd = os.open(dest, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fresh(action: Callable[[], None], leftover: Path) -> Callable[[], float]:
    """Time ``action`` after removing the previous repetition's output (untimed)."""
    def run() -> float:
        if leftover.is_dir():
            shutil.rmtree(leftover)
        leftover.unlink(missing_ok=True)
        return timed(action)
    return run


def file_figures(ctx: BenchContext) -> list[Figure]:
    """T8: encrypt-to-file wall against a Python copy and against ``cp`` (same bytes)."""
    total = payload_bytes(ctx.quick)
    source, work, keyring = plain_file(ctx.cache, total), ctx.scratch / "files", new_keyring()
    work.mkdir(parents=True, exist_ok=True)
    store_root, copy, cp_dest = work / "store", work / "copy.bin", work / "cp.bin"
    into = work / "into.bin"
    samples = interleave({
        "service": _fresh(lambda: encrypt_to_file(source, store_root, keyring), store_root),
        "python": _fresh(lambda: python_copy(source, copy), copy),
        "cp": _fresh(lambda: cp_copy(source, cp_dest), cp_dest),
        "aesgcm_into": _fresh(lambda: aesgcm_into_file(source, into), into),
    }, ctx.rounds + 2, warmup=True)
    context = {f"{n}_MiB_s": total / (1 << 20) / summarize(samples[n]).median for n in samples}
    return [
        Figure(key="T8", title=f"encrypt-to-file {total >> 20} MiB, service / Python copy",
               unit=Unit.RATIO, target=Target("T8", Comparison.AT_MOST, 1.10), context=context,
               summary=summarize(paired_ratios(samples["service"], samples["python"]))),
        Figure(key="T8-cp", title="encrypt-to-file, service / cp", unit=Unit.RATIO,
               target=Target("T8", Comparison.AT_MOST, 1.7),
               summary=summarize(paired_ratios(samples["service"], samples["cp"]))),
        Figure(key="T8-into", title="reference AESGCM encrypt_into file / Python copy",
               unit=Unit.RATIO, note="not the service: what a reused-buffer design reaches",
               summary=summarize(paired_ratios(samples["aesgcm_into"], samples["python"]))),
    ]


def run(ctx: BenchContext) -> list[Figure]:
    """T7 and T8."""
    ctx.log("encryption: in memory (T7)")
    figures = memory_figures(ctx)
    ctx.log("encryption: to file (T8)")
    return figures + file_figures(ctx)
