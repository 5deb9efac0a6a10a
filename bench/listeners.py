"""Baseline servers for the HTTP benchmarks, each a child process on loopback with the edge's
certificate: the Node tus reference server and the trivial streaming sink. Plus /proc reads
of a server's memory.

The Node server's packages come from the committed ``bench/node/package-lock.json`` via
``npm ci`` into ``bench/.cache/node`` (re-run only when the lock changed).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.proctree import PROC

NODE_SOURCE = Path(__file__).resolve().parent / "node"
NODE_FILES = ("package.json", "package-lock.json", "server.mjs")


@dataclass(frozen=True)
class Listener:
    """A running baseline server: its pid and the port it printed."""

    pid: int
    port: int


class NodeUnavailable(RuntimeError):
    """node/npm is missing or ``npm ci`` failed; the message says which."""


def node_server_dir(cache: Path) -> Path:
    """``bench/.cache/node`` with the pinned packages installed (``npm ci``) and the script."""
    target = cache / "node"
    target.mkdir(parents=True, exist_ok=True)
    if not (shutil.which("node") and shutil.which("npm")):
        raise NodeUnavailable("node and npm are not installed")
    stale = any(not (target / name).is_file()
                or (target / name).read_bytes() != (NODE_SOURCE / name).read_bytes()
                for name in NODE_FILES)
    if stale or not (target / "node_modules" / "@tus" / "server").is_dir():
        for name in NODE_FILES:
            shutil.copyfile(NODE_SOURCE / name, target / name)
        done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=target,
                              capture_output=True, text=True, timeout=600, check=False)
        if done.returncode:
            raise NodeUnavailable(f"npm ci failed: {done.stderr[-500:]}")
    return target


@contextmanager
def listening(argv: list[str], cwd: Path | None = None) -> Iterator[Listener]:
    """Start ``argv``, read the ``{"port": N}`` line it prints when ready, stop it after."""
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, start_new_session=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"{argv[0]} exited before listening ({process.wait()})")
        yield Listener(pid=process.pid, port=int(json.loads(line)["port"]))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def node_tus(cache: Path, cert: Path, key: Path, directory: Path
             ) -> AbstractContextManager[Listener]:
    """The Node tus reference server (endpoint ``/files``) storing into ``directory``."""
    where = node_server_dir(cache)
    directory.mkdir(parents=True, exist_ok=True)
    return listening(["node", "server.mjs", str(cert), str(key), str(directory)], cwd=where)


def sink(cert: Path, key: Path) -> AbstractContextManager[Listener]:
    """The trivial streaming sink (endpoint ``/files``)."""
    return listening([sys.executable, "-m", "bench.upload_sink", str(cert), str(key)])


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of ``pid`` in KiB, from /proc/<pid>/status."""
    found = {}
    for line in (PROC / str(pid) / "status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found
