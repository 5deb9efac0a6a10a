"""Run as a child process by test_s3_memory.py: stream a large object up to S3 and back down
through S3Store, and report the process's peak resident memory as JSON on stdout.

A separate process, so the measurement sees only this transfer (not pytest, not other
tests' data). Connection settings come from the environment, never from argv.
"""

from __future__ import annotations

import json
import os
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

from strongroom.storage.s3 import S3Store
from strongroom.storage.s3_config import S3Settings

BLOCK = 1 << 20


def vm_kib(field: str) -> int:
    """A `VmXxx:` line of /proc/self/status, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class Crc:
    """A running CRC-32: enough to compare what went up with what came down, and several
    times faster than SHA-256 here, which keeps this test's runtime down."""

    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes) -> None:
        self.value = zlib.crc32(data, self.value)


def blocks(total: int, crc: Crc) -> Iterator[bytes]:
    """`total` bytes of varied content in 1 MiB writes, checksummed as they go out."""
    seed = os.urandom(BLOCK)
    for index in range(total // BLOCK):
        block = index.to_bytes(8, "big") + seed[8:]
        crc.update(block)
        yield block


def main() -> None:
    total = int(sys.argv[1])
    settings = S3Settings(
        endpoint_url=os.environ["PROBE_S3_ENDPOINT"],
        access_key_id=os.environ["PROBE_S3_ACCESS_KEY"],
        secret_access_key=os.environ["PROBE_S3_SECRET_KEY"],
    )
    store = S3Store(os.environ["PROBE_S3_BUCKET"], prefix=os.environ["PROBE_S3_PREFIX"],
                    settings=settings)  # fmt: skip
    store.put("warm-up", [b"x"])  # loads botocore's models and opens a connection first
    baseline, peak_reset = vm_kib("VmRSS"), reset_peak()
    started, sent, received = time.monotonic(), Crc(), Crc()
    size = store.put("big", blocks(total, sent))
    for block in store.read("big"):
        received.update(block)
    report = {
        "size": size,
        "seconds": round(time.monotonic() - started, 1),
        "baseline_kib": baseline,
        "peak_kib": vm_kib("VmHWM"),
        "peak_reset": peak_reset,
        "same_bytes": sent.value == received.value,
    }
    store.delete_prefix("big")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
