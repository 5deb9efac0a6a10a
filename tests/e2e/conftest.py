"""Real processes: `strongroom serve` (edge + worker + background) on loopback, per test module.

With DATABASE_URL set, the server gets a fresh PostgreSQL database of its own (dropped after).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

START_TIMEOUT = 90.0


@dataclass(frozen=True)
class RunningServer:
    url: str
    ca: Path
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]

    def cli(self, *args: str) -> str:
        """Run a `strongroom` command against this server's data directory; return stdout."""
        done = subprocess.run(
            [sys.executable, "-m", "strongroom", *args, "--data-dir", str(self.data_dir)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout.strip()


@pytest.fixture(scope="module")
def server_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    base = os.environ.get("DATABASE_URL")
    if not base:
        yield env
        return
    name = "strongroom_e2e_" + secrets.token_hex(4)
    _postgres(base, f'CREATE DATABASE "{name}"')
    parts = urlsplit(base)
    env["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + name))
    try:
        yield env
    finally:
        _postgres(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement)


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    server_env: dict[str, str],
) -> Iterator[RunningServer]:
    """A module may set LOCAL_WORKERS (default 1) and SERVER_SETTINGS (extra environment)."""
    workers = str(getattr(request.module, "LOCAL_WORKERS", 1))
    server_env = {**server_env, **getattr(request.module, "SERVER_SETTINGS", {})}
    data_dir = tmp_path_factory.mktemp("edge-data")
    info = data_dir / "run" / "server.json"
    log = (data_dir.parent / "serve.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "strongroom",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            "0",
            "--workers",
            workers,
        ],
        env=server_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        details = _wait_for(info, process)
        yield RunningServer(
            url=details["url"],
            ca=Path(details["ca"]),
            data_dir=data_dir,
            env=server_env,
            process=process,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _wait_for(info: Path, process: subprocess.Popen[bytes]) -> dict[str, str]:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"strongroom serve exited with {process.returncode}")
        if info.exists():
            data: dict[str, str] = json.loads(info.read_text())
            return data
        time.sleep(0.1)
    raise RuntimeError("strongroom serve did not start in time")
