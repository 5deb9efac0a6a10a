"""vmaf outputs: query parsing (and attempts to break each rule) and the planned libvmaf run."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from strongroom.media.jobspec import JobSpec, OutputKind
from strongroom.media.output_kinds import status_array
from strongroom.media.planner import plan_job
from strongroom.media.probe import AudioStreamInfo, MediaInfo, VideoStreamInfo
from strongroom.media.qencode import QueryError, parse_start_encode2_query
from strongroom.media.vmaf_plan import measure_size
from strongroom.media.vmaf_settings import default_model

SOURCE = "https://example.com/in.mp4"


def query(*formats: dict[str, Any]) -> str:
    return json.dumps({"query": {"source": SOURCE, "format": list(formats)}})


def refused(*formats: dict[str, Any]) -> QueryError:
    with pytest.raises(QueryError) as caught:
        parse_start_encode2_query(query(*formats))
    assert caught.value.code == 14
    return caught.value


MP4 = {"output": "mp4"}


def test_it_reads_a_vmaf_output_with_defaults() -> None:
    spec = parse_start_encode2_query(query(MP4, {"output": "vmaf"}))
    vmaf = spec.outputs[1]
    assert vmaf.kind is OutputKind.VMAF and vmaf.renditions == []
    assert vmaf.vmaf is not None and (vmaf.vmaf.distorted, vmaf.vmaf.model) == (None, None)
    assert (vmaf.vmaf.n_subsample, vmaf.vmaf.shortest) == (1, False)
    assert status_array(OutputKind.VMAF) == "videos"


def test_it_reads_every_vmaf_field() -> None:
    spec = parse_start_encode2_query(query(
        {"output": "webm"}, MP4,
        {"output": "vmaf", "distorted": "1", "vmaf_model": "VMAF_4K_V0.6.1NEG",
         "n_subsample": "5", "shortest": 1, "duration": 3, "tag": "score"}))
    vmaf = spec.outputs[2]
    assert vmaf.vmaf is not None
    assert (vmaf.vmaf.distorted, vmaf.vmaf.model, vmaf.vmaf.n_subsample, vmaf.vmaf.shortest) == (
        1, "vmaf_4k_v0.6.1neg", 5, True)
    assert (vmaf.duration, vmaf.user_tag) == (3, "score")


@pytest.mark.parametrize(("formats", "field", "message"), [
    ([{"output": "vmaf"}], "format[0].distorted", "needs an mp4 or webm output"),
    ([{"output": "mp3"}, {"output": "vmaf"}], "format[1].distorted", "needs an mp4 or webm"),
    ([MP4, {"output": "vmaf", "distorted": "https://e.com/d.mp4"}], "format[1].distorted",
     "URLs are not supported yet"),
    ([MP4, {"output": "vmaf", "distorted": "tus:" + "a" * 32}], "format[1].distorted",
     "URLs are not supported yet"),
    ([MP4, {"output": "vmaf", "distorted": 1}], "format[1].distorted", "format[1] is not"),
    ([MP4, {"output": "vmaf", "distorted": 7}], "format[1].distorted", "format[7] is not"),
    ([MP4, {"output": "vmaf", "distorted": 10}], "format[1].distorted", "must be 0\u20139"),
    ([MP4, {"output": "vmaf", "distorted": -1}], "format[1].distorted", "must be 0\u20139"),
    ([MP4, {"output": "vmaf", "distorted": True}], "format[1].distorted", "whole number"),
    ([{"output": "advanced_hls", "stream": [{}]}, {"output": "vmaf", "distorted": 0}],
     "format[1].distorted", "format[0] is not"),
    ([{"output": "mp4", "rotate": 90}, {"output": "vmaf"}], "format[1].distorted",
     "turns or crops"),
    ([{"output": "mp4", "size": "320x320", "resize_mode": "crop"}, {"output": "vmaf"}],
     "format[1].distorted", "turns or crops"),
    ([MP4, {"output": "vmaf", "vmaf_model": "vmaf_b_v0.6.3"}], "format[1].vmaf_model",
     "must be one of"),
    ([MP4, {"output": "vmaf", "vmaf_model": "/models/x.json"}], "format[1].vmaf_model",
     "must be one of"),
    ([MP4, {"output": "vmaf", "n_subsample": 0}], "format[1].n_subsample", "1\u2013100"),
    ([MP4, {"output": "vmaf", "n_subsample": 101}], "format[1].n_subsample", "1\u2013100"),
    ([MP4, {"output": "vmaf", "shortest": 2}], "format[1].shortest", "0 or 1"),
    ([MP4, {"output": "vmaf", "start_time": 1}], "format[1].start_time",
     "does not apply to vmaf"),
    ([MP4, {"output": "vmaf", "duration": 0}], "format[1].duration", "above 0"),
    ([MP4, {"output": "vmaf", "resolution": 720}], "format[1].resolution",
     "does not apply to vmaf"),
    ([{"output": "mp4", "n_subsample": 2}], "format[0].n_subsample", "vmaf outputs only"),
    ([MP4, {"output": "vmaf", "bogus": 1}], "format[1]", "unknown field"),
])
def test_it_refuses_bad_vmaf_settings(formats: list[dict[str, Any]], field: str,
                                      message: str) -> None:
    error = refused(*formats)
    assert error.field == field and message in error.message


@pytest.mark.parametrize("outputs", [
    [{"kind": "vmaf", "renditions": [{}], "vmaf": {}}, {"kind": "mp4", "renditions": [{}]}],
    [{"kind": "vmaf"}, {"kind": "mp4", "renditions": [{}]}],                      # no settings
    [{"kind": "mp4", "renditions": [{}], "vmaf": {}}],                            # misplaced
    [{"kind": "vmaf", "vmaf": {"distorted": 0}}],                                 # itself
    [{"kind": "vmaf", "vmaf": {}, "start_time": 2}, {"kind": "mp4", "renditions": [{}]}],
    [{"kind": "vmaf", "vmaf": {"model": "other"}}, {"kind": "mp4", "renditions": [{}]}],
])
def test_the_model_refuses_what_the_parser_refuses(outputs: list[dict[str, Any]]) -> None:
    with pytest.raises(ValidationError):
        JobSpec.model_validate({"source": SOURCE, "outputs": [
            {"index": i, **o} for i, o in enumerate(outputs)]})


def test_the_default_model_follows_the_source_size() -> None:
    assert default_model(1920, 1080) == "vmaf_v0.6.1"
    assert default_model(3840, 2160) == default_model(2160, 3840) == "vmaf_4k_v0.6.1"
    assert default_model(4096, 1716) == "vmaf_v0.6.1"


def test_the_comparison_size_is_the_source_capped_at_2160_lines() -> None:
    assert measure_size((1280, 720)) == (1280, 720)
    assert measure_size((7680, 4320)) == (3840, 2160)
    assert measure_size((4320, 7680)) == (2160, 3840)


VIDEO = VideoStreamInfo(codec="h264", width=1280, height=720, fps=30.0, pix_fmt="yuv420p",
                        rotation=0)
MEDIA = MediaInfo(format_name="mov,mp4", duration=20.0, size=1_000_000, bit_rate=400_000,
                  video=VIDEO, audio=AudioStreamInfo("aac", 48000, 2), stream_count=2)


def test_the_vmaf_run_follows_the_encode_and_compares_the_same_window() -> None:
    spec = parse_start_encode2_query(query(
        {"output": "webm", "start_time": 2, "duration": 5, "framerate_limit": "24"},
        {"output": "vmaf", "distorted": 0, "n_subsample": 3, "shortest": 1}))
    plan = plan_job(spec, MEDIA, threads=2)
    _, vmaf = plan.commands
    assert [i.path for i in vmaf.inputs] == ["out0/video.webm", "source"]
    assert vmaf.inputs[0].options == ("-threads", "1", "-t", "5")
    assert vmaf.inputs[1].options == ("-threads", "1", "-ss", "2", "-t", "5")
    graph = vmaf.output_args[vmaf.output_args.index("-filter_complex") + 1]
    assert graph == (
        "[0:v:0]setpts=PTS-STARTPTS,scale=1280:720:flags=bicubic,setsar=1,format=yuv420p[d];"
        "[1:v:0]fps=24,setpts=PTS-STARTPTS,scale=1280:720:flags=bicubic,setsar=1,"
        "format=yuv420p[r];"
        "[d][r]libvmaf=model=version=vmaf_v0.6.1:n_subsample=3:shortest=1:log_fmt=json"
        ":log_path=out1/vmaf.json:n_threads=2[m]")
    assert vmaf.output_args[-5:] == ("-map", "[m]", "-f", "null", "-")
    assert vmaf.output_dirs == ("out1",) and vmaf.expected_duration == 5
    planned = plan.outputs[1]
    assert (planned.main_file, planned.vmaf_frames, planned.has_audio) == (
        "out1/vmaf.json", 40, False)


def test_a_vmaf_duration_shortens_both_inputs() -> None:
    spec = parse_start_encode2_query(query(MP4, {"output": "vmaf", "duration": 4}))
    plan = plan_job(spec, MEDIA, threads=2)
    vmaf = plan.commands[-1]
    assert [i.options for i in vmaf.inputs] == [("-threads", "1", "-t", "4")] * 2
    assert plan.outputs[1].vmaf_frames == 120 and plan.outputs[1].expected_duration == 4
