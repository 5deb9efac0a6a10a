"""Qencode's own Python SDK (qencode3 1.0.1 + tuspy 0.2.5), unchanged, against a real server.

The SDK talks HTTPS through urllib (uploads through requests), so the test points both at the
server's local CA; nothing else about the SDK is changed except its 10 s polling pause.
"""

from __future__ import annotations

import gc
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import qencode3.task
import requests
from qencode3 import client as make_client  # the SDK's factory; its own call shadows it later
from qencode3 import tus_uploader

from strongroom.cli.transcode import playlist_uris
from strongroom.media.runner import Runner, find_ffmpeg
from strongroom.media.samples import make_sample_clip
from tests.e2e.conftest import RunningServer

LADDER = [360, 240, 144]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clip")
    return make_sample_clip(
        Runner(find_ffmpeg()), folder / "clip.mp4", seconds=2.0, width=640, height=360, fps=25
    )


@pytest.fixture
def sdk_trusts_server(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(server.ca))  # urllib (API calls)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.ca))  # requests (tus uploads)
    monkeypatch.setattr(qencode3.task, "SLEEP_REGULAR", 0.5)  # the SDK polls every 10 s


def query(source: str) -> dict[str, Any]:
    return {
        "query": {
            "source": source,
            "encoder_version": 2,
            "format": [
                {
                    "output": "mp4",
                    "video_codec": "libx264",
                    "quality": "26",
                    "audio_codec": "libfdk_aac",
                    "audio_bitrate": "96",
                    "tag": "mp4-out",
                },
                {
                    "output": "advanced_hls",
                    "segment_duration": "1",
                    "stream": [
                        {"resolution": r, "bitrate": str(200 + r), "audio_bitrate": 64}
                        for r in LADDER
                    ],
                },
            ],
        }
    }


@pytest.mark.usefixtures("sdk_trusts_server")
def test_the_qencode_sdk_uploads_transcodes_and_downloads(
    server: RunningServer, clip: Path, tmp_path: Path
) -> None:
    api_key = server.cli("apikey", "create", "--project", "sdk")
    client = make_client(api_key, api_url=server.url + "/")
    assert not client.error, client.message
    task = client.create_task()
    assert not task.error, task.message
    upload = sdk_upload(clip, f"{task.upload_url}/{task.task_token}")
    assert upload.url.startswith("tus:")
    task.custom_start(json.dumps(query(upload.url)), payload="order-42")
    assert not task.error, task.message
    statuses: list[dict[str, Any]] = []
    task.progress_changed(statuses.append)
    final = statuses[-1]
    assert final["error"] == 0 and final["status"] == "completed", final
    percents = [s["percent"] for s in statuses]
    assert percents == sorted(percents) and percents[-1] == 100
    check_outputs(final, tmp_path)


def sdk_upload(clip: Path, url: str) -> Any:
    # tuspy 0.2.5 leaves its file handle to the garbage collector; that is the SDK's, not ours.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        upload = tus_uploader.upload(file_path=str(clip), url=url, chunk_size=64 * 1024)
        gc.collect()
    return upload


def check_outputs(status: dict[str, Any], folder: Path) -> None:
    videos = {v["tag"]: v for v in status["videos"]}
    assert set(videos) == {"video-0-0", "video-1-0"}
    assert videos["video-0-0"]["user_tag"] == "mp4-out"
    assert status["payload"] == "order-42"
    assert [w["message"] for w in status["warnings"]]  # libfdk_aac was served by aac
    runner = Runner(find_ffmpeg())
    mp4 = folder / "out.mp4"
    mp4.write_bytes(_get(videos["video-0-0"]["url"]))
    info = runner.probe(mp4)
    assert info.video is not None and info.video.codec == "h264" and info.video.height == 360
    assert info.audio is not None and info.audio.codec == "aac"
    assert abs(info.duration - 2.0) < 0.3
    master_url = videos["video-1-0"]["url"]
    variants = [u for u in playlist_uris(_get(master_url).decode()) if u.endswith(".m3u8")]
    assert len([v for v in variants if v.startswith("video")]) == len(LADDER)
    base = master_url.rsplit("/", 1)[0]
    for variant in variants:
        segments = playlist_uris(_get(f"{base}/{variant}").decode())
        assert segments and all(_get(f"{base}/{variant.rsplit('/', 1)[0]}/{s}") for s in segments)


def _get(url: str) -> bytes:
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, (url.split("/media/", maxsplit=1)[0], response.status_code)
    return response.content


@pytest.mark.usefixtures("sdk_trusts_server")
def test_the_sdk_sees_qencode_errors_for_bad_credentials(server: RunningServer) -> None:
    client = make_client(
        "sr_live_notakey_000000000000000000000000000000000", api_url=server.url + "/"
    )
    assert client.error == 2
    unknown = make_client(
        server.cli("apikey", "create", "--project", "other")[:-1] + "x", api_url=server.url + "/"
    )
    assert unknown.error in {2, 3}


class _FastTime:
    """Stands in for the `time` module inside qencode3.metadata (it polls every 5 s)."""

    @staticmethod
    def sleep(_: float) -> None:
        import time

        time.sleep(0.5)


@pytest.mark.usefixtures("sdk_trusts_server")
def test_the_sdks_get_metadata_returns_ffprobe_json(
    server: RunningServer, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qencode3.metadata

    monkeypatch.setattr(qencode3.metadata, "time", _FastTime)
    client = make_client(
        server.cli("apikey", "create", "--project", "meta"), api_url=server.url + "/"
    )
    task = client.create_task()
    upload = sdk_upload(clip, f"{task.upload_url}/{task.task_token}")
    info = json.loads(client.get_metadata(upload.url))
    assert float(info["format"]["duration"]) == pytest.approx(2.0, abs=0.2)
    assert {s["codec_type"] for s in info["streams"]} == {"video", "audio"}


@pytest.mark.usefixtures("sdk_trusts_server")
def test_video_audio_and_image_outputs_land_in_their_status_arrays(
    server: RunningServer, clip: Path
) -> None:
    client = make_client(
        server.cli("apikey", "create", "--project", "catalog"), api_url=server.url + "/"
    )
    task = client.create_task()
    upload = sdk_upload(clip, f"{task.upload_url}/{task.task_token}")
    task.custom_start(
        json.dumps(
            {
                "query": {
                    "source": upload.url,
                    "format": [
                        {"output": "webm", "size": "320x180"},
                        {"output": "mp3", "audio_bitrate": 96},
                        {
                            "output": "thumbnails",
                            "interval": "1",
                            "sprite": 1,
                            "columns": 2,
                            "width": 160,
                        },
                    ],
                }
            }
        )
    )
    statuses: list[dict[str, Any]] = []
    task.progress_changed(statuses.append)
    final = statuses[-1]
    assert final["status"] == "completed", final
    assert [v["tag"] for v in final["videos"]] == ["video-0-0"]
    assert [a["tag"] for a in final["audios"]] == ["audio-1-0"]
    assert [i["tag"] for i in final["images"]] == ["image-2-0"]
    vtt = _get(final["images"][0]["url"]).decode()
    assert vtt.startswith("WEBVTT") and "#xywh=" in vtt
    assert _get(final["audios"][0]["url"])[:3] in {b"ID3", b"\xff\xfb", b"\xff\xf3"}
