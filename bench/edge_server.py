"""A live `strongroom serve` on loopback for the HTTP benchmarks, and seeding its database.

The server runs with no local workers, rate limits raised out of the way (the limiter still
runs on every request, so its cost is measured) and its own data folder under the run's
scratch. With ``DATABASE_URL`` set it gets a throw-away PostgreSQL database, dropped after,
as the end-to-end tests do. Seeding (tasks, stored objects, media tokens) runs in a separate
``python -m bench.edge_seed`` process: Django can be set up once per process, and the harness
itself must stay free of any one data folder.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

START_TIMEOUT = 120.0
UNLIMITED = "100000000/minute"
RATE_CLASSES = ("API", "UPLOAD", "MEDIA", "OTHER", "API_KEY", "WORKER")


@dataclass(frozen=True)
class EdgeServer:
    """A running edge: its URL, the CA to trust, the served certificate and key, its pid."""

    url: str
    ca: Path
    cert: Path
    key: Path
    data_dir: Path
    pid: int
    env: dict[str, str]

    def seed(self, *args: str) -> Any:
        """Run one ``bench.edge_seed`` command against this server's data; its JSON answer."""
        done = subprocess.run(
            [sys.executable, "-m", "bench.edge_seed", "--data-dir", str(self.data_dir), *args],
            env=self.env, capture_output=True, text=True, timeout=1800, check=False)
        if done.returncode:
            raise RuntimeError(f"edge_seed {args[0]} failed: {done.stderr[-2000:]}")
        return json.loads(done.stdout)


def _postgres(url: str, statement: str) -> None:
    import psycopg  # noqa: PLC0415  (only with DATABASE_URL)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement)


@contextmanager
def throwaway_postgres(base: str, prefix: str) -> Iterator[str]:
    """A new PostgreSQL database next to ``base``'s; yields its URL, drops it after."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    _postgres(base, f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(base)._replace(path="/" + name))
    finally:
        _postgres(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_env(database_url: str | None) -> dict[str, str]:
    """The environment without the caller's Strongroom settings, rate limits out of the way."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    env |= {f"STRONGROOM_RATE_LIMIT_{name}": UNLIMITED for name in RATE_CLASSES}
    return env


def _wait_for(info: Path, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"strongroom serve exited with {process.returncode}")
        if info.exists():
            return dict(json.loads(info.read_text()))
        time.sleep(0.1)
    raise RuntimeError("strongroom serve did not start in time")


@contextmanager
def _serve(data_dir: Path, env: dict[str, str]) -> Iterator[EdgeServer]:
    log = (data_dir.parent / f"{data_dir.name}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "strongroom", "serve", "--data-dir", str(data_dir),
         "--port", "0", "--workers", "0"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        info = _wait_for(data_dir / "run" / "server.json", process)
        served = data_dir / "tls" / "server"
        yield EdgeServer(url=info["url"], ca=Path(info["ca"]), cert=served / "server.crt",
                         key=served / "server.key", data_dir=data_dir, pid=process.pid, env=env)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextmanager
def running_edge(scratch: Path, name: str) -> Iterator[EdgeServer]:
    """`strongroom serve` on a fresh data folder (and database, with ``DATABASE_URL``); the
    folder is removed once the server stopped (uploads fill gigabytes)."""
    data_dir = scratch / name
    data_dir.mkdir(parents=True)
    base = os.environ.get("DATABASE_URL")
    try:
        if not base:
            with _serve(data_dir, server_env(None)) as server:
                yield server
            return
        with throwaway_postgres(base, "strongroom_bench") as url, \
                _serve(data_dir, server_env(url)) as server:
            yield server
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
