"""JobSpec re-checks every rule itself, e.g. when read back from a worker grant."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from strongroom.media.jobspec import JobSpec, OutputKind, OutputSpec, Rendition

TUS = "tus:" + "b" * 32


def job(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"source": TUS,
                            "outputs": [{"index": 0, "kind": "mp4", "renditions": [{}]}]}
    return {**base, **overrides}


def test_it_round_trips_through_json() -> None:
    spec = JobSpec.model_validate(job(warnings=["w"]))
    assert JobSpec.model_validate_json(spec.model_dump_json()) == spec
    assert spec.outputs[0].kind is OutputKind.MP4


def test_it_is_frozen() -> None:
    spec = JobSpec.model_validate(job())
    with pytest.raises(ValidationError):
        spec.source = "https://example.com/x.mp4"  # type: ignore[misc]  # proving it refuses


@pytest.mark.parametrize("rendition", [
    {"width": 641}, {"height": 8}, {"resolution": 5000}, {"quality": 64}, {"bitrate": 0},
    {"audio_bitrate": 1000}, {"audio_sample_rate": 12345}, {"audio_channels": 0},
    {"framerate": "0"}, {"framerate": "500"}, {"keyframe": "abc"}, {"keyframe": "0"},
    {"video_codec": "lcevc_h264"}, {"audio_codec": "libfdk_aac"}, {"profile": "high10"},
    {"video_codec_parameters": [["bf"]]}, {"two_pass": "maybe"},
    {"video_codec": "libaom-av1"}, {"audio_codec": "mp3"},
    {"surprise": 1},
])
def test_it_refuses_bad_renditions(rendition: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Rendition.model_validate(rendition)


@pytest.mark.parametrize("output", [
    {"index": 0, "kind": "mp4", "renditions": [{}, {}]},
    {"index": 0, "kind": "advanced_hls", "renditions": []},
    {"index": 0, "kind": "advanced_hls", "renditions": [{}] * 9},
    {"index": 0, "kind": "webm", "renditions": [{}, {}]},
    {"index": 0, "kind": "mp4", "renditions": [{"quality": 52}]},
    {"index": 0, "kind": "mp4", "renditions": [{"video_codec": "libvpx-vp9"}]},
    {"index": 0, "kind": "mp4", "renditions": [{"audio_codec": "libopus"}]},
    {"index": 0, "kind": "webm", "renditions": [{"video_codec": "libx264"}]},
    {"index": 0, "kind": "webm", "renditions": [{"audio_codec": "aac"}]},
    {"index": 0, "kind": "webm", "renditions": [{"audio_sample_rate": 44100}]},
    {"index": 0, "kind": "webm", "renditions": [{"video_codec": "libvpx", "quality": 3}]},
    {"index": 0, "kind": "mp3", "renditions": [{"audio_channels": 6}]},
    {"index": 0, "kind": "mp3", "renditions": [{"audio_sample_rate": 96000}]},
    {"index": 0, "kind": "mp3", "renditions": [{"width": 640}]},
    {"index": 0, "kind": "mp3", "renditions": [{"bitrate": 800}]},
    {"index": 0, "kind": "flac", "renditions": [{"audio_codec": "libmp3lame"}]},
    {"index": 0, "kind": "mp3", "renditions": []},
    {"index": 0, "kind": "metadata", "renditions": [{}]},
    {"index": 0, "kind": "metadata", "renditions": [], "start_time": 3},
    {"index": 0, "kind": "mp4", "renditions": [{}], "images": {}},
    {"index": 0, "kind": "thumbnail", "renditions": [{"quality": 20}]},
    {"index": 0, "kind": "thumbnail", "renditions": [{"audio_codec": "aac"}]},
    {"index": 0, "kind": "thumbnail", "renditions": [{}], "images": {"interval": 5}},
    {"index": 0, "kind": "thumbnail", "renditions": [{}], "images": {"image_format": "gif"}},
    {"index": 0, "kind": "thumbnail", "renditions": [{}], "images": {"time": 1.5}},
    {"index": 0, "kind": "thumbnail", "renditions": [{}],
     "images": {"image_format": "png", "quality": 80}},
    {"index": 0, "kind": "thumbnails", "renditions": [{}], "images": {"frame_number": 3}},
    {"index": 0, "kind": "thumbnails", "renditions": [{}], "images": {"columns": 4}},
    {"index": 0, "kind": "thumbnails", "renditions": [{}], "images": {"interval": 0.01}},
    {"index": 0, "kind": "thumbnails", "renditions": [{}],
     "images": {"sprite": True, "columns": 51}},
    {"index": 0, "kind": "gif", "renditions": [{}], "images": {"image_format": "jpg"}},
    {"index": 0, "kind": "gif", "renditions": [{}], "images": {"sprite": True}},
    {"index": 0, "kind": "gif", "renditions": [{}], "images": {"quality": 50}},
    {"index": 0, "kind": "gif", "renditions": [{"bitrate": 100}]},
    {"index": 0, "kind": "advanced_hls", "renditions": [{}], "playlist_name": "../x.m3u8"},
    {"index": 0, "kind": "advanced_hls", "renditions": [{}], "segment_duration": 0},
    {"index": 0, "kind": "mp4", "renditions": [{}], "duration": 0},
    {"index": 0, "kind": "mp4", "renditions": [{}], "start_time": -1},
    {"index": 10, "kind": "mp4", "renditions": [{}]},
])
def test_it_refuses_bad_outputs(output: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        OutputSpec.model_validate(output)


@pytest.mark.parametrize("overrides", [
    {"source": "ftp://example.com/a"}, {"source": "tus:xyz"}, {"outputs": []},
    {"outputs": [{"index": 1, "kind": "mp4", "renditions": [{}]}]},
    {"extra": True},
])
def test_it_refuses_bad_jobs(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        JobSpec.model_validate(job(**overrides))


def test_jobs_on_everyday_encoders_need_no_worker_label() -> None:
    from strongroom.media.jobspec import required_labels
    from strongroom.media.qencode import parse_start_encode2_query

    spec = parse_start_encode2_query(
        '{"query": {"source": "tus:' + "a" * 32 + '", "format": [{"output": "mp4"}]}}')
    assert required_labels(spec) == ()


@pytest.mark.parametrize("output", [
    {"index": 0, "kind": "webm", "renditions": [{"video_codec": "libvpx", "quality": 63,
                                                 "audio_codec": "libvorbis"}]},
    {"index": 0, "kind": "mp3", "renditions": [{"audio_sample_rate": 44100}]},
    {"index": 0, "kind": "flac", "renditions": [{"audio_channels": 6}]},
    {"index": 0, "kind": "metadata"},
    {"index": 0, "kind": "thumbnail", "renditions": [{"width": 320}],
     "images": {"frame_number": 0, "image_format": "jpg", "quality": 90}},
    {"index": 0, "kind": "thumbnails", "renditions": [{}],
     "images": {"interval": 2.5, "sprite": True, "columns": 5, "image_format": "webp"}},
    {"index": 0, "kind": "gif", "renditions": [{"framerate": "12"}],
     "images": {"image_format": "webp", "quality": 60}},
])
def test_it_accepts_every_kind_with_its_own_settings(output: dict[str, Any]) -> None:
    assert OutputSpec.model_validate(output).kind is OutputKind(output["kind"])


def test_each_kind_is_reported_in_the_right_status_array() -> None:
    from strongroom.media.output_kinds import status_array

    assert {kind.value: status_array(kind) for kind in OutputKind} == {
        "mp4": "videos", "advanced_hls": "videos", "webm": "videos", "metadata": "videos",
        "vmaf": "videos",
        "advanced_dash": "videos", "webm_dash": "videos", "repack": "videos",
        "mp3": "audios", "flac": "audios", "hls_audio": "audios",
        "thumbnail": "images", "thumbnails": "images", "gif": "images",
    }
