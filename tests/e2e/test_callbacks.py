"""Callbacks end to end: the background process posts `queued` and `saved`, signed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from strongroom.cli.presets import preset_formats
from strongroom.cli.qencode_client import QencodeClient
from strongroom.media.runner import Runner, find_ffmpeg
from strongroom.media.samples import make_sample_clip
from tests.e2e.conftest import RunningServer


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


RECEIVER_PORT = _free_port()  # chosen before the server starts: its allowlist names it
SERVER_SETTINGS = {
    "STRONGROOM_CALLBACK_ALLOW_NETWORKS": "127.0.0.0/8",
    "STRONGROOM_CALLBACK_ALLOW_PORTS": str(RECEIVER_PORT),
}
received: list[tuple[dict[str, str], bytes]] = []


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture(scope="module")
def receiver() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", RECEIVER_PORT), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{RECEIVER_PORT}/qencode"
    httpd.shutdown()
    httpd.server_close()


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return f"v1,{expected}" in headers["webhook-signature"].split()


def test_the_client_hears_queued_then_saved_with_the_final_status(
    server: RunningServer, receiver: str, tmp_path: Path
) -> None:
    clip = make_sample_clip(
        Runner(find_ffmpeg()), tmp_path / "clip.mp4", seconds=2.0, width=640, height=360, fps=25
    )
    key = server.cli("apikey", "create", "--project", "hooks")
    secret = server.cli("webhooks", "secret", "--project", "hooks")
    with QencodeClient(server.url, server.ca) as client:
        token = client.access_token(key)
        task_token, upload_url = client.create_task(token)
        source = client.upload(upload_url, task_token, clip)
        status_url = client.start_encode2(
            task_token,
            {"source": source, "format": preset_formats("mp4"), "callback_url": receiver},
            payload="order-7",
        )
        client.wait(status_url, task_token, lambda _: None, poll=0.5, timeout=120)
    deadline = time.monotonic() + 30
    while len(received) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    events = [parse_qs(body.decode()) for _, body in received]
    assert [e["event"][0] for e in events] == ["queued", "saved"]
    assert all(verify(secret, headers, body) for headers, body in received)
    final = json.loads(events[-1]["status"][0])
    assert final["status"] == "completed" and final["videos"][0]["url"].startswith(server.url)
    assert events[-1]["payload"] == ["order-7"] and events[-1]["task_token"] == [task_token]
