"""Bounded memory: a 1 GiB object streams up to S3 and back down through S3Store while the
process's peak resident memory stays under 100 MiB in total (interpreter and boto3 included).

Memory per transfer is flat in the object's size (one part buffered, one 1 MiB read block),
so this also stands for the 4 GiB promise without moving 4 GiB in the test suite.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess  # noqa: TID251  # reason: the measurement needs a fresh process of its own
import sys
from pathlib import Path

import pytest

from tests.integration.storage.seaweed import SEAWEED, S3Server

PROBE = Path(__file__).with_name("s3_memory_probe.py")
GIB = 1 << 30
LIMIT_KIB = 100 * 1024


def run_probe(server: S3Server, total: int) -> dict[str, object]:
    settings = server.settings
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "PROBE_S3_ENDPOINT": str(settings.endpoint_url),
        "PROBE_S3_ACCESS_KEY": str(settings.access_key_id),
        "PROBE_S3_SECRET_KEY": str(settings.secret_access_key),
        "PROBE_S3_BUCKET": server.bucket,
        "PROBE_S3_PREFIX": f"mem-{secrets.token_hex(4)}",
    }
    done = subprocess.run(  # a fixed argv list, never a shell
        [sys.executable, str(PROBE), str(total)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, object] = json.loads(done.stdout)
    return report


@pytest.mark.slow
@SEAWEED
def test_a_one_gib_object_moves_with_under_100_mib_of_resident_memory(s3_server: S3Server) -> None:
    report = run_probe(s3_server, GIB)
    print(f"S3 memory probe: {report}")  # the numbers are worth seeing in -s / -rA output
    assert report["size"] == GIB
    assert report["same_bytes"] is True
    assert isinstance(report["peak_kib"], int)
    assert report["peak_kib"] < LIMIT_KIB, report
