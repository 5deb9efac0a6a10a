"""A task from upload to delivery through the whole ASGI app: tus upload, start_encode2, a
signed worker's claim, source download, output uploads and completion, then /v1/status and the
signed media URLs (HTTP Range, expiry, forgery)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings

from strongroom.crypto.tokens import issue_token
from strongroom.edge.jobs.models import Output, Task, WorkItem
from strongroom.edge.jobs.services.grants import GrantPurpose, grant_token, media_token
from strongroom.edge.jobs.states import TaskStatus, WorkItemStatus
from tests.integration.edge.db_state import stored_keys
from tests.integration.edge.edge_client import EdgeClient
from tests.integration.edge.qencode_api import HLS_FORMAT, MP4_FORMAT, QencodeApi, query_text
from tests.integration.edge.signed_worker import SignedWorker, check_signed_answer, output_report
from tests.integration.edge.tus_client import upload

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SOURCE = bytes(range(256)) * 40
MP4_FILES = {"video.mp4": b"\x00\x00\x00\x18ftypmp42" + bytes(range(200)) * 20}
HLS_FILES = {
    "playlist.m3u8": b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nvideo_1/index.m3u8\n",
    "video_1/index.m3u8": b"#EXTM3U\n#EXTINF:2.0,\nchunk0.ts\n#EXT-X-ENDLIST\n",
    "video_1/chunk0.ts": b"G" + bytes(187) * 30,
}


@dataclass
class Flow:
    edge: EdgeClient
    api: QencodeApi
    worker: SignedWorker
    token: str
    grant: dict[str, Any]

    def put_all(self) -> None:
        for index, files in enumerate((MP4_FILES, HLS_FILES)):
            for path, data in files.items():
                sent = self.worker.put_output(self.grant, index, path, data)
                assert sent.status == 201, sent.response.text
                check_signed_answer(sent, self.worker.edge_key)

    def complete(self) -> int:
        reports = [
            output_report(0, "mp4", MP4_FILES, "video.mp4"),
            output_report(1, "advanced_hls", HLS_FILES, "playlist.m3u8"),
        ]
        sent = self.worker.post_json(self.grant["complete_url"], {"outputs": reports})
        if sent.status == 200:
            check_signed_answer(sent, self.worker.edge_key)
        return sent.status

    def videos(self) -> list[dict[str, Any]]:
        entry = self.api.status(self.token)[self.token]
        assert (entry["status"], entry["error"]) == ("completed", 0), entry
        return list(entry["videos"])


@pytest.fixture
def flow(edge: EdgeClient, edge_v1: QencodeApi, api_key: str, worker: SignedWorker) -> Flow:
    token = edge_v1.new_task(api_key)
    uuid = upload(edge, token, SOURCE, chunk=4000)
    edge_v1.start(token, query_text(source=f"tus:{uuid}", formats=[MP4_FORMAT, HLS_FORMAT]))
    return Flow(edge, edge_v1, worker, token, worker.claim_grant())


def test_it_serves_the_uploaded_source_to_the_lease_holder(flow: Flow) -> None:
    source = flow.grant["source"]
    assert source["external"] is False
    assert (source["size"], source["sha256"]) == (len(SOURCE), hashlib.sha256(SOURCE).hexdigest())

    whole = flow.worker.send("GET", source["url"])
    part = flow.worker.send("GET", source["url"], headers={"range": "bytes=3990-4009"})

    assert (whole.status, whole.response.content) == (200, SOURCE)
    assert (part.status, part.response.content) == (206, SOURCE[3990:4010])
    assert part.response.headers["content-range"] == f"bytes 3990-4009/{len(SOURCE)}"


def test_it_refuses_the_source_to_a_worker_without_the_lease(
    flow: Flow, other_worker: SignedWorker
) -> None:
    sent = other_worker.send("GET", flow.grant["source"]["url"])

    assert sent.status == 409
    assert SOURCE not in sent.response.content


def test_it_runs_a_task_from_claim_to_delivery(flow: Flow) -> None:
    beat = flow.worker.post_json(flow.grant["heartbeat_url"], {"stage": "encoding", "percent": 50})
    assert beat.status == 200
    flow.put_all()

    assert flow.complete() == 200

    task = Task.objects.get(token=flow.token)
    assert (task.status, task.percent) == (TaskStatus.COMPLETED, 100.0)
    assert WorkItem.objects.get().status == WorkItemStatus.DONE
    videos = flow.videos()
    assert [v["tag"] for v in videos] == ["video-0-0", "video-1-0"]
    assert videos[0]["user_tag"] == "small"
    assert all(v["url"].startswith("https://testserver/media/") for v in videos)
    mp4 = flow.edge.request("GET", videos[0]["url"])
    assert (mp4.status_code, mp4.content) == (200, MP4_FILES["video.mp4"])
    assert mp4.headers["content-type"] == "video/mp4"
    assert mp4.headers["accept-ranges"] == "bytes"
    playlist = flow.edge.request("GET", videos[1]["url"])
    assert playlist.content == HLS_FILES["playlist.m3u8"]
    segment_url = videos[1]["url"].rsplit("/", 1)[0] + "/video_1/chunk0.ts"
    assert flow.edge.request("GET", segment_url).content == HLS_FILES["video_1/chunk0.ts"]
    assert flow.worker.post_json(flow.grant["heartbeat_url"], {"stage": "saving"}).status == 409


def test_it_never_logs_capability_tokens(flow: Flow, caplog: pytest.LogCaptureFixture) -> None:
    flow.put_all()
    flow.complete()
    url = flow.videos()[0]["url"]
    caplog.set_level(logging.INFO, logger="strongroom.requests")
    caplog.clear()

    assert flow.edge.request("GET", url).status_code == 200
    flow.worker.post_json(flow.grant["heartbeat_url"], {"stage": "saving"})

    access = [json.dumps(r.msg) for r in caplog.records if r.name == "strongroom.requests"]
    assert len(access) == 2
    assert all(media_path(url)[0] not in line and "grant=" not in line for line in access)
    assert '"/media/<token>/video.mp4"' in access[0]


def test_it_answers_a_range_request_for_an_output(flow: Flow) -> None:
    flow.put_all()
    flow.complete()
    url = flow.videos()[0]["url"]
    data = MP4_FILES["video.mp4"]

    response = flow.edge.request("GET", url, headers={"range": "bytes=100-1099"})

    assert response.status_code == 206
    assert response.content == data[100:1100]
    assert response.headers["content-range"] == f"bytes 100-1099/{len(data)}"
    suffix = flow.edge.request("GET", url, headers={"range": "bytes=-10"})
    assert (suffix.status_code, suffix.content) == (206, data[-10:])
    beyond = flow.edge.request("GET", url, headers={"range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416


def media_path(url: str) -> tuple[str, str]:
    """(token, relative path) of a /media/<token>/<path> URL."""
    token, _, path = url.split("/media/", 1)[1].partition("/")
    return token, path


def test_it_refuses_expired_or_forged_media_tokens(flow: Flow) -> None:
    flow.put_all()
    flow.complete()
    url = flow.videos()[0]["url"]
    token, path = media_path(url)
    prefix = str(Output.objects.get(index=0).report["prefix"])
    payload, _, signature = token.partition(".")
    bad_tokens = {
        "expired": issue_token(
            settings.URL_TOKEN_KEY, {"k": "media", "p": prefix}, ttl=60, now=time.time() - 3600
        ),
        "forged_signature": f"{payload}.{signature[::-1]}",
        "other_key": issue_token(b"k" * 32, {"k": "media", "p": prefix}, ttl=600),
        "grant_not_media": grant_token(flow.grant["lease_id"], GrantPurpose.OUTPUT),
        "other_prefix": media_token(prefix.replace("out0", "out1")),
    }
    assert flow.edge.request("GET", url).status_code == 200

    for name, bad in bad_tokens.items():
        response = flow.edge.request("GET", f"https://testserver/media/{bad}/{path}")
        assert response.status_code == 404, name
        assert MP4_FILES["video.mp4"] not in response.content
    escape = flow.edge.request("GET", f"https://testserver/media/{token}/..%2Fout1%2Fplaylist.m3u8")
    assert escape.status_code == 404


def test_it_keeps_only_the_winning_attempts_files(flow: Flow, other_worker: SignedWorker) -> None:
    assert flow.worker.put_output(flow.grant, 0, "stale.mp4", b"from attempt 1").status == 201
    WorkItem.objects.update(lease_expires_at="2000-01-01T00:00:00Z")
    flow.worker, flow.grant = other_worker, other_worker.claim_grant()
    flow.put_all()

    assert flow.complete() == 200

    keys = stored_keys(f"tasks/{flow.token}")
    assert keys and all(key.startswith(f"tasks/{flow.token}/a2/") for key in keys)
