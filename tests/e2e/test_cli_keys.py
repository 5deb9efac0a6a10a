"""`strongroom keys status | rotate --wait | retire` and `projects delete` as real processes on
a fresh data directory: one process writes objects, others rotate, report and retire."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.e2e.conftest import _postgres

pytestmark = pytest.mark.e2e

WRITE_OBJECTS = textwrap.dedent(
    """
    import sys
    from strongroom.cli.bootstrap import setup_django
    setup_django(sys.argv[1])
    from strongroom.edge.accounts.services import ensure_project
    from strongroom.edge.jobs.models import Task
    from strongroom.edge.jobs.services.objects import object_store
    task = Task.objects.create(project=ensure_project("default", "films"), token="f" * 32)
    for i in range(5):
        object_store().put(f"tasks/{task.token}/a1/out0/seg{i}.ts", [b"media %d" % i])
    """
)
READ_OBJECTS = textwrap.dedent(
    """
    import sys
    from strongroom.cli.bootstrap import setup_django
    setup_django(sys.argv[1])
    from strongroom.edge.jobs.services.objects import object_store
    store = object_store()
    print(",".join(b"".join(store.read(key)).decode() for key in store.list("tasks")))
    """
)


# Each test's data directory has its own master key, so on PostgreSQL each also gets its own
# database: rows encrypted under one master key don't decrypt under another.
ENV: dict[str, str] = {}


@pytest.fixture(autouse=True)
def own_database() -> Iterator[None]:
    ENV.clear()
    ENV.update(
        {k: v for k, v in os.environ.items() if not k.startswith(("STRONGROOM_", "DJANGO_"))}
    )
    base = os.environ.get("DATABASE_URL")
    if not base:
        yield
        return
    name = "strongroom_keys_cli_" + secrets.token_hex(4)
    _postgres(base, f'CREATE DATABASE "{name}"')
    ENV["DATABASE_URL"] = urlunsplit(urlsplit(base)._replace(path="/" + name))
    try:
        yield
    finally:
        _postgres(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(ENV)
    return subprocess.run(
        [sys.executable, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(data, "-m", "strongroom", *args, "--data-dir", str(data))


def python(data: Path, script: str) -> str:
    done = run(data, "-c", script, str(data))
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "var"
    assert cli(folder, "migrate").returncode == 0
    python(folder, WRITE_OBJECTS)
    return folder


def test_rotate_wait_status_and_retire(data: Path) -> None:
    status = cli(data, "keys", "status")
    old = status.stdout.splitlines()[0].removeprefix("primary key: ")
    assert f"{old}  5 object(s)  primary" in status.stdout

    refused = cli(data, "keys", "retire", old)
    assert refused.returncode == 1 and "primary key" in refused.stderr

    rotated = cli(data, "keys", "rotate", "--wait")
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.splitlines()[0].split(" -> ")[1]
    assert new.startswith("lk-") and "finished, 5/5 object(s) done, 5 re-wrapped" in rotated.stdout

    status = cli(data, "keys", "status").stdout
    assert f"primary key: {new}" in status and f"{new}  5 object(s)  primary" in status
    assert f"{old}  0 object(s)  unwrap-only" in status
    assert "finished" in status
    assert (data / "keys" / "object-keks.json").stat().st_mode & 0o777 == 0o600

    assert cli(data, "keys", "retire", old).returncode == 0
    status = cli(data, "keys", "status").stdout
    assert old not in status.replace(f"-> {new}", "")
    assert python(data, READ_OBJECTS).strip() == ",".join(f"media {i}" for i in range(5))
    assert cli(data, "audit", "verify").returncode == 0


def test_projects_delete_needs_yes_and_shreds(data: Path) -> None:
    refused = cli(data, "projects", "delete", "films")
    assert refused.returncode == 1 and "--yes" in refused.stderr
    unknown = cli(data, "projects", "delete", "nope", "--yes")
    assert unknown.returncode == 1 and "no single project" in unknown.stderr

    deleted = cli(data, "projects", "delete", "films", "--yes")

    assert deleted.returncode == 0, deleted.stderr
    assert "5 object(s) of 1 task(s)" in deleted.stdout
    assert " 5 object(s)" not in cli(data, "keys", "status").stdout
    assert python(data, READ_OBJECTS).strip() == ""
    assert cli(data, "audit", "verify").returncode == 0
