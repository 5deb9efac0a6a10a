"""The `strongroom` command as operators and scripts use it (a stable interface)."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from strongroom.crypto.apikeys import parse_api_key
from strongroom.media.runner import Runner, find_ffmpeg
from strongroom.media.samples import make_sample_clip
from tests.e2e.conftest import RunningServer


def strongroom(
    *args: str, env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "strongroom", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=check,
    )


def test_init_is_idempotent_and_private(tmp_path: Path, server_env: dict[str, str]) -> None:
    data = tmp_path / "data"
    strongroom("init", "--data-dir", str(data), env=server_env)
    key_before = (data / "keys" / "master.json").read_bytes()
    strongroom("init", "--data-dir", str(data), env=server_env)
    assert (data / "keys" / "master.json").read_bytes() == key_before
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "keys" / "master.json").stat().st_mode) == 0o600
    if "DATABASE_URL" not in server_env:  # the embedded profile: an SQLCipher file, not SQLite
        assert (data / "db" / "strongroom.db").read_bytes()[:16] != b"SQLite format 3\x00"


def test_the_data_dir_comes_from_the_environment_too(
    tmp_path: Path, server_env: dict[str, str]
) -> None:
    env = {**server_env, "STRONGROOM_DATA_DIR": str(tmp_path / "from-env")}
    strongroom("init", env=env)
    path = strongroom("certs", "ca-path", env=env).stdout.strip()
    assert path == str(tmp_path / "from-env" / "tls" / "ca" / "ca.crt")


def test_admin_commands_print_exactly_what_scripts_need(server: RunningServer) -> None:
    key = server.cli("apikey", "create", "--project", "scripts")
    assert "\n" not in key and parse_api_key(key) is not None
    token = server.cli("worker", "join-token", "--label", "gpu")
    assert token.startswith("srj_") and "\n" not in token
    assert server.cli("certs", "ca-path") == str(server.ca)
    assert server.cli("audit", "verify") == "audit chain OK"


def test_createuser_refuses_a_weak_password_plainly(server: RunningServer) -> None:
    env = {**server.env, "STRONGROOM_NEW_USER_PASSWORD": "short"}
    done = strongroom(
        "createuser",
        "--email",
        "ops@example.com",
        "--data-dir",
        str(server.data_dir),
        env=env,
        check=False,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    env["STRONGROOM_NEW_USER_PASSWORD"] = "a sufficiently long passphrase"
    done = strongroom(
        "createuser",
        "--email",
        "ops@example.com",
        "--organization",
        "ops",
        "--data-dir",
        str(server.data_dir),
        env=env,
    )
    assert "Created user ops@example.com" in done.stdout


def test_ca_path_before_init_says_what_to_do(tmp_path: Path, server_env: dict[str, str]) -> None:
    done = strongroom(
        "certs", "ca-path", "--data-dir", str(tmp_path / "none"), env=server_env, check=False
    )
    assert done.returncode == 1 and "strongroom init" in done.stderr


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clip")
    return make_sample_clip(
        Runner(find_ffmpeg()), folder / "in.mp4", seconds=2.0, width=640, height=360, fps=25
    )


def test_transcode_uploads_waits_and_downloads(
    server: RunningServer, clip: Path, tmp_path: Path
) -> None:
    env = {
        **server.env,
        "STRONGROOM_URL": server.url,
        "STRONGROOM_CA": str(server.ca),
        "STRONGROOM_API_KEY": server.cli("apikey", "create", "--project", "cli"),
    }
    done = strongroom("transcode", str(clip), "--preset", "hls", "--out", str(tmp_path), env=env)
    master = Path(done.stdout.strip())
    assert master.name == "playlist.m3u8" and master.is_file()
    assert len(list(master.parent.rglob("segment_*.ts"))) >= 3
    assert "completed" in done.stderr  # the progress line


def test_transcode_without_credentials_says_so(clip: Path, server_env: dict[str, str]) -> None:
    env = {k: v for k, v in server_env.items() if k not in {"STRONGROOM_URL", "STRONGROOM_API_KEY"}}
    done = strongroom("transcode", str(clip), env=env, check=False)
    assert done.returncode == 1 and "STRONGROOM_URL" in done.stderr


def test_serve_wrote_its_address_for_other_tools(server: RunningServer) -> None:
    info = json.loads((server.data_dir / "run" / "server.json").read_text())
    assert info["url"] == server.url and info["pid"] == server.process.pid
    assert (server.data_dir / "run" / "server.json").stat().st_mode & 0o077 == 0


def local_worker_rows(server: RunningServer) -> tuple[list[str], list[list[str]]]:
    """`strongroom workers` once the local worker has enrolled (serve starts it after it is up;
    on a loaded machine that takes a few seconds)."""
    deadline = time.monotonic() + 60
    while True:
        listing = server.cli("workers").splitlines()
        local = [line.split() for line in listing[1:] if "local-0" in line]
        if local or time.monotonic() > deadline:
            return listing, local
        time.sleep(0.5)


def test_operators_list_and_revoke_workers(server: RunningServer) -> None:
    listing, local = local_worker_rows(server)
    assert listing[0].split()[:3] == ["WORKER", "NAME", "STATE"]
    assert local and local[0][2] in {"idle", "busy"}
    unknown = strongroom(
        "worker",
        "revoke",
        "wrk_" + "0" * 24,
        "--data-dir",
        str(server.data_dir),
        env=server.env,
        check=False,
    )
    assert unknown.returncode == 1 and "no worker" in unknown.stderr


def test_a_misconfigured_key_provider_stops_init_with_the_reason(
    tmp_path: Path, server_env: dict[str, str]
) -> None:
    env = {**server_env, "STRONGROOM_KEK": "vault", "STRONGROOM_VAULT_TOKEN": "s.secret-token"}
    done = strongroom("init", "--data-dir", str(tmp_path / "d1"), env=env, check=False)
    assert done.returncode == 1 and "STRONGROOM_KEK=vault" in done.stderr
    assert "s.secret-token" not in done.stderr and "Traceback" not in done.stderr


def test_an_unreachable_key_provider_fails_the_start_up_check(
    tmp_path: Path, server_env: dict[str, str]
) -> None:
    env = {
        **server_env,
        "STRONGROOM_KEK": "vault",
        "STRONGROOM_KEK_KEY": "objects",
        "STRONGROOM_VAULT_ADDR": "http://127.0.0.1:9",
        "STRONGROOM_VAULT_TOKEN": "s.secret",
    }
    done = strongroom("init", "--data-dir", str(tmp_path / "d2"), env=env, check=False)
    assert done.returncode == 1 and "strongroom.E001" in done.stderr
    assert "s.secret" not in done.stderr and "Traceback" not in done.stderr
