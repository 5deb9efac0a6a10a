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
    {"width": 641}, {"height": 8}, {"resolution": 5000}, {"quality": 52}, {"bitrate": 0},
    {"audio_bitrate": 1000}, {"audio_sample_rate": 12345}, {"audio_channels": 0},
    {"framerate": "0"}, {"framerate": "500"}, {"keyframe": "abc"}, {"keyframe": "0"},
    {"video_codec": "libx265"}, {"audio_codec": "libfdk_aac"}, {"profile": "high10"},
    {"surprise": 1},
])
def test_it_refuses_bad_renditions(rendition: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Rendition.model_validate(rendition)


@pytest.mark.parametrize("output", [
    {"index": 0, "kind": "mp4", "renditions": [{}, {}]},
    {"index": 0, "kind": "advanced_hls", "renditions": []},
    {"index": 0, "kind": "advanced_hls", "renditions": [{}] * 9},
    {"index": 0, "kind": "webm", "renditions": [{}]},
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
