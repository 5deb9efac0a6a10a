"""aspect_ratio, rotate, resize_mode, pix_format, deinterlace, framerate_limit and audio_mute:
query parsing (and attempts to break each rule) and the planned filter chains (no ffmpeg)."""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import pytest
from pydantic import ValidationError

from strongroom.media.jobspec import JobSpec, OutputSpec
from strongroom.media.picture_rules import encoder_profile, parse_aspect_ratio
from strongroom.media.planner import plan_job
from strongroom.media.probe import AudioStreamInfo, MediaInfo, VideoStreamInfo
from strongroom.media.qencode import parse_start_encode2_query
from tests.unit.media.one_output import SOURCE, query, refused, rendition

# ------------------------------------------------------------------ parsing


def test_the_defaults_leave_the_picture_alone() -> None:
    found = rendition()
    assert (found.aspect_ratio, found.rotate, found.resize_mode, found.pix_format) == (
        None,
        0,
        "scale",
        None,
    )
    assert not (found.deinterlace or found.audio_mute) and found.framerate_limit is None


def test_it_reads_every_picture_field_including_strings() -> None:
    found = rendition(
        aspect_ratio="16:9",
        rotate="270",
        resize_mode="Crop",
        pix_format="YUV422P",
        deinterlace="1",
        framerate_limit=25,
        audio_mute=1,
    )
    assert (found.aspect_ratio, found.rotate, found.resize_mode, found.pix_format) == (
        "16:9",
        270,
        "crop",
        "yuv422p",
    )
    assert found.deinterlace and found.audio_mute and found.framerate_limit == "25"


@pytest.mark.parametrize(
    ("text", "ratio"),
    [
        ("16:9", Fraction(16, 9)),
        ("1.77", Fraction(177, 100)),
        ("4:3", Fraction(4, 3)),
        ("1", Fraction(1)),
    ],
)
def test_aspect_ratios_read_both_forms(text: str, ratio: Fraction) -> None:
    assert parse_aspect_ratio(text) == ratio
    assert rendition(aspect_ratio=text).aspect_ratio == text


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"aspect_ratio": "16/9"}, "aspect_ratio", "must be"),
        ({"aspect_ratio": "16:0"}, "aspect_ratio", "divide by zero"),
        ({"aspect_ratio": "1:11"}, "aspect_ratio", "between 1:10 and 10:1"),
        ({"aspect_ratio": 11}, "aspect_ratio", "between 1:10 and 10:1"),
        ({"aspect_ratio": "-1.5"}, "aspect_ratio", "must be"),
        ({"aspect_ratio": "16:9,scale=1:1"}, "aspect_ratio", "must be"),
        ({"aspect_ratio": True}, "aspect_ratio", "non-empty string"),
        ({"rotate": 45}, "rotate", "one of: 0, 90, 180, 270"),
        ({"rotate": -90}, "rotate", "0\u2013270"),
        ({"rotate": 360}, "rotate", "0\u2013270"),
        ({"rotate": "90deg"}, "rotate", "whole number"),
        ({"resize_mode": "fit"}, "resize_mode", "one of: scale, crop"),
        ({"resize_mode": 1}, "resize_mode", "one of: scale, crop"),
        ({"pix_format": "rgb24"}, "pix_format", "must be one of"),
        ({"pix_format": "yuv420p10le"}, "pix_format", "for libx264"),
        ({"pix_format": "yuv422p", "profile": "high"}, "pix_format", "high422 profile"),
        ({"pix_format": "yuv444p", "profile": "baseline"}, "pix_format", "high444 profile"),
        ({"video_codec": "libsvtav1", "pix_format": "yuv422p"}, "pix_format", "for libsvtav1"),
        ({"deinterlace": 2}, "deinterlace", "must be 0 or 1"),
        ({"framerate_limit": 0}, "framerate_limit", "above 0"),
        ({"framerate_limit": "121"}, "framerate_limit", "at most 120"),
        ({"framerate_limit": "30/0"}, "framerate_limit", "divide by zero"),
        ({"audio_mute": "on"}, "audio_mute", "must be 0 or 1"),
    ],
)
def test_it_refuses_bad_picture_settings(fields: dict[str, Any], field: str, message: str) -> None:
    error = refused("mp4", **fields)
    assert error.field == f"format[0].{field}" and message in error.message


def test_webm_takes_4_2_0_only() -> None:
    assert "for libvpx-vp9" in refused("webm", pix_format="yuv422p").message
    assert rendition("webm", pix_format="yuv420p").pix_format == "yuv420p"


def test_streaming_outputs_take_4_2_0_only() -> None:
    error = refused("advanced_hls", stream=[{"pix_format": "yuv422p"}])
    assert error.field == "format[0].stream[0].pix_format"
    assert "in streaming outputs" in error.message
    (spec,) = parse_start_encode2_query(
        query("advanced_dash", stream=[{"video_codec": "libx265", "pix_format": "yuv420p10le"}])
    ).outputs
    assert spec.renditions[0].pix_format == "yuv420p10le"


@pytest.mark.parametrize(
    "field, values",
    [
        ("rotate", (90, 0)),
        ("aspect_ratio", ("16:9", "4:3")),
        ("pix_format", ("yuv420p", "yuvj420p")),
        ("audio_mute", (1, 0)),
    ],
)
def test_a_ladder_shares_orientation_shape_pixels_and_sound(
    field: str, values: tuple[Any, Any]
) -> None:
    error = refused("advanced_hls", stream=[{field: values[0]}, {field: values[1]}])
    assert error.field == "format[0].stream"
    assert f"{field} must be the same for every stream[] entry" in error.message


@pytest.mark.parametrize("output", ["mp3", "flac", "hls_audio", "thumbnail", "gif", "repack"])
@pytest.mark.parametrize(
    "field, value",
    [("rotate", 90), ("pix_format", "yuv420p"), ("audio_mute", 1), ("deinterlace", 1)],
)
def test_picture_fields_do_not_apply_to_other_kinds(output: str, field: str, value: Any) -> None:
    assert refused(output, **{field: value}).field == f"format[0].{field}"


@pytest.mark.parametrize(
    "fields",
    [
        {"rotate": 45},
        {"resize_mode": "fit"},
        {"aspect_ratio": "0:1"},
        {"framerate_limit": "0"},
        {"pix_format": "gray"},
    ],
)
def test_the_model_refuses_what_the_parser_refuses(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        OutputSpec.model_validate({"index": 0, "kind": "mp4", "renditions": [fields]})


def test_the_model_refuses_picture_settings_on_audio_outputs() -> None:
    with pytest.raises(ValidationError):
        OutputSpec.model_validate({"index": 0, "kind": "mp3", "renditions": [{"rotate": 90}]})


# ------------------------------------------------------------------ planning

LANDSCAPE = VideoStreamInfo(
    codec="h264", width=1280, height=720, fps=30.0, pix_fmt="yuv420p", rotation=0
)


def media(video: VideoStreamInfo = LANDSCAPE) -> MediaInfo:
    return MediaInfo(
        format_name="mov,mp4",
        duration=20.0,
        size=1_000_000,
        bit_rate=400_000,
        video=video,
        audio=AudioStreamInfo("aac", 48000, 2),
        stream_count=2,
    )


def chain(fields: dict[str, Any], kind: str = "mp4", video: VideoStreamInfo = LANDSCAPE) -> str:
    spec = JobSpec.model_validate(
        {
            "source": "tus:" + "a" * 32,
            "outputs": [{"index": 0, "kind": kind, "renditions": [fields]}],
        }
    )
    (command,) = plan_job(spec, media(video), threads=2).commands
    args = command.output_args
    return args[args.index("-filter_complex") + 1].split(";")[-1]


def test_the_default_chain_is_unchanged() -> None:
    assert chain({"resolution": 360}) == "[s0]scale=640:360,setsar=1,format=yuv420p[v0]"


@pytest.mark.parametrize(
    ("degrees", "steps"),
    [
        (90, "transpose=clock,scale=360:640"),
        (180, "hflip,vflip,scale=640:360"),
        (270, "transpose=cclock,scale=360:640"),
    ],
)
def test_rotate_turns_before_scaling_and_sizes_the_turned_picture(degrees: int, steps: str) -> None:
    assert chain({"resolution": 360, "rotate": degrees}) == (
        f"[s0]{steps},setsar=1,format=yuv420p[v0]"
    )


def test_rotate_follows_the_source_display_rotation() -> None:
    portrait = VideoStreamInfo(
        codec="h264", width=1280, height=720, fps=30.0, pix_fmt="yuv420p", rotation=90
    )
    assert chain({"resolution": 360, "rotate": 90}, video=portrait) == (
        "[s0]transpose=clock,scale=640:360,setsar=1,format=yuv420p[v0]"
    )


def test_crop_covers_then_cuts() -> None:
    assert chain({"width": 400, "height": 400, "resize_mode": "crop"}) == (
        "[s0]scale=400:400:force_original_aspect_ratio=increase,crop=400:400,setsar=1,"
        "format=yuv420p[v0]"
    )


def test_aspect_ratio_becomes_setdar_also_in_dash() -> None:
    assert chain({"resolution": 360, "aspect_ratio": "1.85"}) == (
        "[s0]scale=640:360,setdar=37/20,format=yuv420p[v0]"
    )
    assert chain({"resolution": 360, "aspect_ratio": "4:3"}, kind="advanced_dash") == (
        "[s0]scale=640:360,setdar=4/3,format=yuv420p[v0]"
    )
    assert chain({"resolution": 360, "rotate": 90}, kind="advanced_dash") == (
        "[s0]transpose=clock,scale=360:640,setdar=720/1280,format=yuv420p[v0]"
    )


def test_deinterlace_runs_first_and_keeps_one_frame_per_frame() -> None:
    assert chain({"resolution": 360, "deinterlace": True, "framerate": "25"}) == (
        "[s0]bwdif=mode=send_frame:deint=all,fps=25,scale=640:360,setsar=1,format=yuv420p[v0]"
    )


@pytest.mark.parametrize(
    ("fields", "fps"),
    [
        ({"framerate_limit": "24"}, "fps=24,"),
        ({"framerate_limit": "30"}, ""),
        ({"framerate_limit": "60"}, ""),
        ({"framerate_limit": "24", "framerate": "50"}, "fps=50,"),
    ],
)
def test_framerate_limit_caps_but_never_raises(fields: dict[str, Any], fps: str) -> None:
    assert chain({"resolution": 360, **fields}) == (
        f"[s0]{fps}scale=640:360,setsar=1,format=yuv420p[v0]"
    )


def test_framerate_limit_sizes_the_gop_at_the_capped_rate() -> None:
    spec = JobSpec.model_validate(
        {
            "source": "tus:" + "a" * 32,
            "outputs": [{"index": 0, "kind": "mp4", "renditions": [{"framerate_limit": "15"}]}],
        }
    )
    (command,) = plan_job(spec, media(), threads=2).commands
    assert command.output_args[command.output_args.index("-g:v:0") + 1] == "30"


def test_pix_format_picks_the_matching_profile() -> None:
    spec = JobSpec.model_validate(
        {
            "source": "tus:" + "a" * 32,
            "outputs": [
                {
                    "index": 0,
                    "kind": "mp4",
                    "renditions": [{"video_codec": "libx265", "pix_format": "yuv420p10le"}],
                }
            ],
        }
    )
    (command,) = plan_job(spec, media(), threads=2).commands
    args = command.output_args
    assert args[args.index("-profile:v:0") + 1] == "main10"
    assert args[args.index("-filter_complex") + 1].endswith("format=yuv420p10le[v0]")
    assert plan_job(spec, media(), threads=2).outputs[0].pix_format == "yuv420p10le"
    assert encoder_profile("libx264", "high", "yuvj420p") == "high"
    assert encoder_profile("libx264", "main", "yuv422p") == "high422"
    assert encoder_profile("libsvtav1", "main", "yuv420p10le") is None


def test_audio_mute_plans_no_audio_encode() -> None:
    spec = JobSpec.model_validate(
        {
            "source": "tus:" + "a" * 32,
            "outputs": [
                {"index": 0, "kind": "mp4", "renditions": [{"audio_mute": True}]},
                {"index": 1, "kind": "advanced_hls", "renditions": [{"audio_mute": True}] * 2},
            ],
        }
    )
    plan = plan_job(spec, media(), threads=2)
    (command,) = plan.commands
    assert "asplit" not in command.output_args[command.output_args.index("-filter_complex") + 1]
    assert not any(arg.startswith("-c:a") for arg in command.output_args)
    assert [(o.has_audio, o.audio_codec, o.separate_audio) for o in plan.outputs] == [
        (False, None, False),
        (False, None, False),
    ]


def test_every_new_field_survives_the_grant_round_trip() -> None:
    # The edge stores model_dump(mode="json") and the worker validates it again.
    spec = parse_start_encode2_query(
        json.dumps(
            {
                "query": {
                    "source": SOURCE,
                    "format": [
                        {
                            "output": "mp4",
                            "video_codec": "libx265",
                            "bitrate": 800,
                            "two_pass": 1,
                            "video_codec_parameters": {"bf": 2, "preset": "fast"},
                            "pix_format": "yuv420p10le",
                            "rotate": 90,
                            "aspect_ratio": "9:16",
                            "framerate_limit": "24",
                            "deinterlace": 1,
                        },
                        {
                            "output": "advanced_hls",
                            "fmp4": 1,
                            "single_folder": 1,
                            "i_frames_only": 1,
                            "stream": [{"video_codec": "libx265", "audio_mute": 1}],
                        },
                        {"output": "webm", "video_codec": "libsvtav1", "quality": 40},
                        {"output": "vmaf", "distorted": 2, "n_subsample": 3},
                    ],
                }
            }
        )
    )
    stored = json.loads(json.dumps(spec.model_dump(mode="json")))
    assert JobSpec.model_validate(stored) == spec
