"""`strongroom serve --workers 1:2`: a second local worker starts when work waits, and the
queue is visible to Prometheus at /metrics (token-protected)."""

from __future__ import annotations

import time
from contextlib import closing
from pathlib import Path

import httpx

from strongroom.cli.presets import preset_formats
from strongroom.cli.qencode_client import QencodeClient
from strongroom.crypto.tls import client_ssl_context
from strongroom.media.runner import Runner, find_ffmpeg
from strongroom.media.samples import make_sample_clip
from tests.e2e.conftest import RunningServer

LOCAL_WORKERS = "1:2"
METRICS_TOKEN = "metrics-token-for-the-test-0123456789"
# One x264 encode fills both cores of a small test machine; let the scaler oversubscribe here.
SERVER_SETTINGS = {
    "STRONGROOM_METRICS_TOKEN": METRICS_TOKEN,
    "STRONGROOM_HEARTBEAT_SECONDS": "1",
    "STRONGROOM_AUTOSCALE_MAX_LOAD": "20",
}


def local_workers(server: RunningServer) -> list[str]:
    return [
        line.split()[1]
        for line in server.cli("workers").splitlines()[1:]
        if line.split()[2] in {"idle", "busy"}
    ]


def test_a_second_worker_starts_while_work_waits_and_metrics_show_the_queue(
    server: RunningServer, tmp_path: Path
) -> None:
    clip = make_sample_clip(Runner(find_ffmpeg()), tmp_path / "clip.mp4", seconds=12.0)
    with closing(QencodeClient(server.url, server.ca)) as client:
        submit_and_watch(server, client, clip)


def submit_and_watch(server: RunningServer, client: QencodeClient, clip: Path) -> None:
    token = client.access_token(server.cli("apikey", "create", "--project", "scale"))
    started = []
    for _ in range(3):
        task_token, upload_url = client.create_task(token)
        source = client.upload(upload_url, task_token, clip)
        started.append(
            (
                task_token,
                client.start_encode2(
                    task_token, {"source": source, "format": preset_formats("hls")}
                ),
            )
        )

    metrics = scrape(server)
    assert 'strongroom_queue_depth{lane="batch"}' in metrics
    assert 'strongroom_tasks{status="completed"}' in metrics

    deadline = time.monotonic() + 60
    while len(local_workers(server)) < 2 and time.monotonic() < deadline:
        time.sleep(1)
    assert sorted(local_workers(server)) == ["local-0", "local-1"]
    for task_token, status_url in started:
        final = client.wait(status_url, task_token, lambda _: None, poll=1, timeout=240)
        assert final["status"] == "completed", final


def test_metrics_need_the_token(server: RunningServer) -> None:
    with httpx.Client(verify=client_ssl_context(server.ca)) as http:
        assert http.get(f"{server.url}/metrics").status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert http.get(f"{server.url}/metrics", headers=wrong).status_code == 401


def scrape(server: RunningServer) -> str:
    with httpx.Client(verify=client_ssl_context(server.ca)) as http:
        answer = http.get(
            f"{server.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
    assert answer.status_code == 200
    return answer.text
