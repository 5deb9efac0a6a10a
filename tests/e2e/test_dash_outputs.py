"""advanced_dash, webm_dash, hls_audio and repack through a live edge and worker.

A real job (tus upload, start_encode2, status polling) whose status ``url`` s must point at a
manifest that plays through the signed media URLs: every relative link inside the MPD and the
HLS playlists resolves under the same token, with the right content type, and the fetched
segments decode (PyAV).
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from strongroom.cli.qencode_client import QencodeApiError, QencodeClient
from strongroom.cli.transcode import playlist_uris
from strongroom.crypto.tls import client_ssl_context
from strongroom.media.runner import Runner, find_ffmpeg
from strongroom.media.samples import make_sample_clip
from tests.e2e.conftest import RunningServer

NS = {"mpd": "urn:mpeg:dash:schema:mpd:2011"}
LADDER = [{"resolution": 240, "bitrate": 300}, {"resolution": 144, "bitrate": 120}]
FORMATS: list[dict[str, Any]] = [
    {
        "output": "advanced_dash",
        "segment_duration": 1,
        "create_m3u8_playlist": 1,
        "stream": LADDER,
        "tag": "cmaf",
    },
    {
        "output": "webm_dash",
        "segment_duration": 1,
        "playlist_name": "manifest.mpd",
        "stream": [{"resolution": 144, "quality": 40}],
    },
    {"output": "hls_audio", "segment_duration": 1, "audio_bitrate": 64},
    {"output": "repack", "file_extension": "mkv", "metadata_copy": 0},
]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clip")
    return make_sample_clip(
        Runner(find_ffmpeg()), folder / "clip.mp4", seconds=2.0, width=426, height=240, fps=25
    )


@pytest.fixture(scope="module")
def client(server: RunningServer) -> Iterator[QencodeClient]:
    with QencodeClient(server.url, server.ca) as qencode:
        yield qencode


@pytest.fixture(scope="module")
def finished(server: RunningServer, client: QencodeClient, clip: Path) -> dict[str, Any]:
    token = client.access_token(server.cli("apikey", "create", "--project", "dash"))
    task_token, upload_url = client.create_task(token)
    source = client.upload(upload_url, task_token, clip)
    status_url = client.start_encode2(task_token, {"source": source, "format": FORMATS})
    return client.wait(status_url, task_token, lambda _: None, poll=0.5, timeout=300)


def get(url: str, server: RunningServer, content_type: str | None = None) -> bytes:
    response = httpx.get(url, verify=client_ssl_context(server.ca), timeout=30)
    assert response.status_code == 200, (url.rsplit("/", 1)[-1], response.status_code)
    if content_type is not None:
        assert response.headers["content-type"] == content_type
    return response.content


def test_the_job_completes_with_each_output_in_its_array(finished: dict[str, Any]) -> None:
    assert finished["status"] == "completed" and finished["error"] == 0, finished
    videos = {v["tag"]: v for v in finished["videos"]}
    assert set(videos) == {"video-0-0", "video-1-0", "video-3-0"}
    assert [a["tag"] for a in finished["audios"]] == ["audio-2-0"]
    assert videos["video-0-0"]["user_tag"] == "cmaf"
    assert videos["video-0-0"]["url"].endswith("/playlist.mpd")
    assert videos["video-1-0"]["url"].endswith("/manifest.mpd")
    assert videos["video-3-0"]["url"].endswith("/video.mkv")
    assert finished["audios"][0]["url"].endswith("/playlist.m3u8")
    assert [videos[t]["storage"]["format"] for t in ("video-0-0", "video-1-0", "video-3-0")] == [
        "dash",
        "dash",
        "mkv",
    ]
    assert videos["video-0-0"]["meta"]["height"] == 240


def mpd_segments(mpd: bytes) -> list[tuple[str, str, list[str]]]:
    """(mimeType, init URI, media URIs) per Representation, expanded from its template."""
    root = ET.fromstring(mpd)  # noqa: S314 - the MPD our own server just wrote
    found = []
    for rep in root.findall("mpd:Period/mpd:AdaptationSet/mpd:Representation", NS):
        template = rep.find("mpd:SegmentTemplate", NS)
        assert template is not None
        count = sum(1 + int(s.get("r", "0")) for s in template.iter(f"{{{NS['mpd']}}}S"))
        start = int(template.get("startNumber", "1"))
        media = template.get("media", "").replace("$RepresentationID$", rep.get("id", ""))
        found.append(
            (
                rep.get("mimeType", ""),
                template.get("initialization", "").replace("$RepresentationID$", rep.get("id", "")),
                [media.replace("$Number%05d$", f"{n:05d}") for n in range(start, start + count)],
            )
        )
    return found


@pytest.mark.parametrize(
    ("tag", "segment_type", "codecs"),
    [
        ("video-0-0", "video/iso.segment", {"h264", "aac"}),
        ("video-1-0", "video/webm", {"vp9", "opus"}),
    ],
)
def test_every_dash_segment_plays_through_the_signed_url(
    finished: dict[str, Any], server: RunningServer, tag: str, segment_type: str, codecs: set[str]
) -> None:
    url = next(v["url"] for v in finished["videos"] if v["tag"] == tag)
    base = url.rsplit("/", 1)[0]
    representations = mpd_segments(get(url, server, "application/dash+xml"))
    assert [mime.split("/")[0] for mime, _, _ in representations] == (
        ["video"] * (len(representations) - 1) + ["audio"]
    )
    seen = set()
    for _, init, media in representations:
        data = get(f"{base}/{init}", server, segment_type)
        data += b"".join(get(f"{base}/{uri}", server, segment_type) for uri in media)
        with av.open(io.BytesIO(data)) as container:
            stream = container.streams[0]
            frames = list(container.decode(stream))
            seen.add(stream.codec_context.name)
            assert frames and float(frames[-1].time) == pytest.approx(2.0, abs=0.15)
    assert seen == codecs


def test_the_cmaf_hls_master_resolves_through_the_signed_url(
    finished: dict[str, Any], server: RunningServer
) -> None:
    mpd_url = next(v["url"] for v in finished["videos"] if v["tag"] == "video-0-0")
    base = mpd_url.rsplit("/", 1)[0]
    master = get(f"{base}/playlist.m3u8", server, "application/vnd.apple.mpegurl").decode()
    playlists = playlist_uris(master)
    assert len(playlists) == len(LADDER) + 1  # one per rendition plus the audio
    for playlist in playlists:
        media = get(f"{base}/{playlist}", server, "application/vnd.apple.mpegurl").decode()
        for uri in playlist_uris(media):
            assert get(f"{base}/{uri}", server, "video/iso.segment")


def test_hls_audio_plays_through_the_signed_url(
    finished: dict[str, Any], server: RunningServer
) -> None:
    url = finished["audios"][0]["url"]
    base = url.rsplit("/", 1)[0]
    (chunklist,) = playlist_uris(get(url, server, "application/vnd.apple.mpegurl").decode())
    folder = chunklist.rsplit("/", 1)[0]
    segments = playlist_uris(get(f"{base}/{chunklist}", server).decode())
    data = b"".join(get(f"{base}/{folder}/{s}", server, "video/mp2t") for s in segments)
    with av.open(io.BytesIO(data), format="mpegts") as container:
        assert [(s.type, s.codec_context.name) for s in container.streams] == [("audio", "aac")]


def test_the_repack_is_served_as_matroska(finished: dict[str, Any], server: RunningServer) -> None:
    url = next(v["url"] for v in finished["videos"] if v["tag"] == "video-3-0")
    data = get(url, server, "video/x-matroska")
    with av.open(io.BytesIO(data)) as container:
        assert container.format.name == "matroska,webm"
        assert sorted((s.type, s.codec_context.name) for s in container.streams) == [
            ("audio", "aac"),
            ("video", "h264"),
        ]


@pytest.mark.parametrize(
    ("output", "field"),
    [
        ({"output": "repack", "file_extension": "avi"}, "format[0].file_extension"),
        (
            {"output": "advanced_dash", "stream": [{}], "playlist_name": "x.m3u8"},
            "format[0].playlist_name",
        ),
        (
            {"output": "webm_dash", "stream": [{"video_codec": "libx264"}]},
            "format[0].stream[0].video_codec",
        ),
    ],
)
def test_bad_settings_get_the_qencode_error_envelope(
    server: RunningServer, client: QencodeClient, output: dict[str, Any], field: str
) -> None:
    token = client.access_token(server.cli("apikey", "create", "--project", "dash-bad"))
    task_token, _ = client.create_task(token)
    with pytest.raises(QencodeApiError) as caught:
        client.start_encode2(
            task_token, {"source": "https://example.com/in.mp4", "format": [output]}
        )
    assert caught.value.code == 14 and field in str(caught.value)


def test_a_repack_whose_codecs_do_not_fit_fails_with_a_clear_reason(
    server: RunningServer, client: QencodeClient, clip: Path
) -> None:
    # The query can't know the source's codecs; the worker finds out when it probes the source.
    token = client.access_token(server.cli("apikey", "create", "--project", "dash-repack"))
    task_token, upload_url = client.create_task(token)
    source = client.upload(upload_url, task_token, clip)
    query = {"source": source, "format": [{"output": "repack", "file_extension": "webm"}]}
    status_url = client.start_encode2(task_token, query)
    final = client.wait(status_url, task_token, lambda _: None, poll=0.5, timeout=120)
    assert final["status"] == "error" and final["error"] == 1
    assert "h264 video can't be put in webm" in str(final["error_description"])
