"""A worker killed mid-encode costs one lease period, never the job (DESIGN.md §3)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from strongroom.cli.presets import preset_formats
from strongroom.cli.qencode_client import QencodeClient
from strongroom.cli.transcode import playlist_uris
from strongroom.media.runner import Runner, find_ffmpeg
from strongroom.media.samples import make_sample_clip
from tests.e2e.conftest import RunningServer

LOCAL_WORKERS = 0  # this module starts its own workers, to kill one
SERVER_SETTINGS = {
    "STRONGROOM_LEASE_SECONDS": "6",
    "STRONGROOM_HEARTBEAT_SECONDS": "1",
    "STRONGROOM_RETRY_BACKOFF_SECONDS": "0",
}


@pytest.fixture
def workers(server: RunningServer, tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def start_worker(server: RunningServer, state_dir: Path, *extra: str) -> subprocess.Popen[bytes]:
    token = server.cli("worker", "join-token")
    with (state_dir.parent / f"{state_dir.name}.log").open("wb") as log:  # the child keeps its copy
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "strongroom",
                "worker",
                "run",
                "--edge",
                server.url,
                "--join",
                token,
                "--ca",
                str(server.ca),
                "--state-dir",
                str(state_dir),
                "--name",
                state_dir.name,
                *extra,
            ],
            env=server.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for_status(client: QencodeClient, task_token: str, wanted: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.status(f"{client.base_url}/v1/status", task_token)["status"] == wanted:
            return
        time.sleep(0.2)
    raise AssertionError(f"task never reached {wanted!r}")


def processes_under(folder: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str((entry / "cwd").readlink()).startswith(str(folder)):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_worker_killed_mid_encode_costs_one_lease_not_the_job(
    server: RunningServer, workers: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    clip = make_sample_clip(Runner(find_ffmpeg()), tmp_path / "clip.mp4", seconds=12.0)
    client = QencodeClient(server.url, server.ca)
    token = client.access_token(server.cli("apikey", "create", "--project", "recovery"))
    task_token, upload_url = client.create_task(token)
    source = client.upload(upload_url, task_token, clip)
    status_url = client.start_encode2(
        task_token, {"source": source, "format": preset_formats("hls")}
    )
    workers.append(start_worker(server, tmp_path / "worker-a"))
    wait_for_status(client, task_token, "encoding", timeout=60)

    os.kill(workers[0].pid, signal.SIGKILL)  # the worker alone: its encoder must die with it
    workers[0].wait()
    deadline = time.monotonic() + 2
    while processes_under(tmp_path / "worker-a") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_under(tmp_path / "worker-a") == [], "an orphaned encoder survived its worker"

    workers.append(start_worker(server, tmp_path / "worker-b"))
    final = client.wait(status_url, task_token, lambda _: None, poll=0.5, timeout=180)
    assert final["status"] == "completed" and final["error"] == 0, final
    assert_ladder_is_served(client, final)
    client.close()
    workers[1].send_signal(signal.SIGTERM)
    assert workers[1].wait(timeout=30) == 0


def submit_ladder(
    server: RunningServer, tmp_path: Path, api_key: str | None = None
) -> tuple[QencodeClient, str, str]:
    clip = tmp_path / "clip.mp4"
    if not clip.exists():
        make_sample_clip(Runner(find_ffmpeg()), clip, seconds=12.0)
    client = QencodeClient(server.url, server.ca)
    token = client.access_token(api_key or server.cli("apikey", "create", "--project", "drain"))
    task_token, upload_url = client.create_task(token)
    source = client.upload(upload_url, task_token, clip)
    return (
        client,
        task_token,
        client.start_encode2(task_token, {"source": source, "format": preset_formats("hls")}),
    )


def test_a_draining_worker_hands_its_job_back_and_exits_zero(
    server: RunningServer, workers: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    client, task_token, status_url = submit_ladder(server, tmp_path)
    workers.append(start_worker(server, tmp_path / "worker-c", "--drain-seconds", "0.5"))
    wait_for_status(client, task_token, "encoding", timeout=60)

    workers[0].send_signal(signal.SIGTERM)  # a rolling restart: this worker must go now
    assert workers[0].wait(timeout=30) == 0
    assert client.status(status_url, task_token)["status"] == "queued"

    workers.append(start_worker(server, tmp_path / "worker-d"))
    final = client.wait(status_url, task_token, lambda _: None, poll=0.5, timeout=180)
    assert final["status"] == "completed" and final["error"] == 0, final
    client.close()


def assert_ladder_is_served(client: QencodeClient, status: dict[str, Any]) -> None:
    master = status["videos"][0]["url"]
    base = master.rsplit("/", 1)[0]
    variants = [u for u in playlist_uris(client.http.get(master).text) if u.startswith("video_")]
    assert len(variants) == 3
    for variant in variants:
        assert client.http.get(f"{base}/{variant}").status_code == 200


def test_cancelling_mid_encode_kills_ffmpeg_quickly_and_the_worker_carries_on(
    server: RunningServer, workers: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    api_key = server.cli("apikey", "create", "--project", "cancel")
    client, task_token, _ = submit_ladder(server, tmp_path, api_key)
    state = tmp_path / "worker-e"
    workers.append(start_worker(server, state))
    wait_for_status(client, task_token, "encoding", timeout=60)
    assert processes_under(state), "no encoder was running"

    answer = client.http.post(
        f"{server.url}/api/v2/tasks/{task_token}/cancel",
        headers={"Authorization": f"Bearer {api_key}"},
    )
    cancelled_at = time.monotonic()
    assert answer.status_code == 200 and answer.json()["status"] == "cancelled"
    while processes_under(state) and time.monotonic() - cancelled_at < 5:
        time.sleep(0.05)
    # one heartbeat (1 s here, 2 s by default) plus the kill
    assert processes_under(state) == [] and time.monotonic() - cancelled_at < 3.0

    client2, second, status_url = submit_ladder(server, tmp_path, api_key)
    final = client2.wait(status_url, second, lambda _: None, poll=0.5, timeout=180)
    assert final["status"] == "completed", final
    assert client.status(status_url, task_token)["status"] == "cancelled"
    client.close()
    client2.close()
