"""Probe JSON -> MediaInfo, and the input limits."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from strongroom.media.errors import InputRejected, MediaError
from strongroom.media.limits import Limits
from strongroom.media.probe import check_limits, parse_probe

SAMPLE: dict[str, Any] = {
    "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "2.000000",
               "size": "92486", "bit_rate": "369944", "nb_streams": 3},
    "streams": [
        {"index": 0, "codec_type": "video", "codec_name": "mjpeg", "width": 600,
         "height": 600, "disposition": {"attached_pic": 1}, "avg_frame_rate": "0/0"},
        {"index": 1, "codec_type": "video", "codec_name": "h264", "profile": "High",
         "width": 1920, "height": 1080, "pix_fmt": "yuv420p", "avg_frame_rate": "30000/1001",
         "r_frame_rate": "30/1", "disposition": {"attached_pic": 0},
         "side_data_list": [{"side_data_type": "Display Matrix", "rotation": -90}]},
        {"index": 2, "codec_type": "audio", "codec_name": "aac", "sample_rate": "48000",
         "channels": 2},
    ],
}


def sample(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(SAMPLE)
    for path, value in changes.items():
        target: Any = data
        *parents, last = path.split("__")
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[last] = value
    return data


def test_it_parses_a_typical_file() -> None:
    info = parse_probe(SAMPLE)
    assert (info.format_name, info.duration, info.size, info.bit_rate, info.stream_count) == (
        "mov,mp4,m4a,3gp,3g2,mj2", 2.0, 92486, 369944, 3)
    assert info.video is not None and info.audio is not None
    assert (info.video.codec, info.video.width, info.video.height) == ("h264", 1920, 1080)
    assert info.video.fps == pytest.approx(29.97, abs=0.01)
    assert info.video.rotation == 270  # -90 normalised
    assert info.video.display_size == (1080, 1920)
    assert (info.audio.codec, info.audio.sample_rate, info.audio.channels) == ("aac", 48000, 2)


def test_it_skips_cover_art_when_choosing_the_video_stream() -> None:
    assert parse_probe(SAMPLE).video.codec == "h264"  # type: ignore[union-attr]  # checked above


def test_it_falls_back_to_the_base_rate_and_then_zero() -> None:
    info = parse_probe(sample(streams__1__avg_frame_rate="0/0"))
    assert info.video is not None and info.video.fps == 30.0
    info = parse_probe(sample(streams__1__avg_frame_rate="x", streams__1__r_frame_rate="1/0"))
    assert info.video is not None and info.video.fps == 0.0


def test_it_accepts_audio_only_and_a_missing_bit_rate() -> None:
    data = sample(format__bit_rate="N/A")
    data["streams"] = data["streams"][2:]
    info = parse_probe(data)
    assert info.video is None and info.bit_rate is None and info.audio is not None


@pytest.mark.parametrize("document", [{}, {"format": {}}, {"format": [], "streams": []},
                                      {"format": {}, "streams": [1]}, []])
def test_it_raises_media_error_for_documents_that_are_not_probe_output(document: Any) -> None:
    with pytest.raises(MediaError):
        parse_probe(document)


@pytest.mark.parametrize("changes", [
    {"format__duration": "N/A"}, {"format__duration": "-1"}, {"format__duration": "nan"},
    {"format__size": "-5"}, {"format__size": "1.5"}, {"format__format_name": ""},
    {"streams__1__width": -1}, {"streams__1__height": "tall"}, {"streams__1__width": 10**9},
    {"streams__1__codec_name": None}, {"streams__2__channels": 0},
    {"streams__2__sample_rate": True},
])
def test_it_rejects_nonsense_values(changes: dict[str, Any]) -> None:
    with pytest.raises(InputRejected):
        parse_probe(sample(**changes))


def test_it_rejects_a_frame_the_decoder_refused_as_too_large() -> None:
    with pytest.raises(InputRejected, match="picture size"):
        parse_probe(sample(streams__1__width=0, streams__1__height=0))


def test_it_rejects_a_file_without_audio_or_video() -> None:
    with pytest.raises(InputRejected, match="no audio or video"):
        parse_probe({"format": SAMPLE["format"], "streams": [{"codec_type": "data"}]})


@pytest.mark.parametrize("limits, match", [
    (Limits(max_pixels=1920 * 1080 - 1), "picture size"),
    (Limits(max_duration=1.5), "longer than"),
    (Limits(max_streams=2), "more than 2 streams"),
    (Limits(max_input_bytes=1000), "too large"),
])
def test_it_enforces_each_input_limit(limits: Limits, match: str) -> None:
    with pytest.raises(InputRejected, match=match):
        check_limits(parse_probe(SAMPLE), limits)


def test_it_passes_a_file_within_limits() -> None:
    check_limits(parse_probe(SAMPLE), Limits(max_pixels=1920 * 1080, max_streams=3))
