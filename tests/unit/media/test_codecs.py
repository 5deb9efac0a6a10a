"""libx265, libsvtav1, video_codec_parameters and two_pass: query parsing (and attempts to break
each rule) and the planned encoder arguments (no ffmpeg)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from strongroom.media.codec_params import ALLOWED, check_param, encoder_args
from strongroom.media.jobspec import JobSpec, OutputSpec, required_labels
from strongroom.media.planner import plan_job
from strongroom.media.probe import AudioStreamInfo, MediaInfo, VideoStreamInfo
from strongroom.media.qencode import parse_start_encode2_query
from tests.unit.media.one_output import SOURCE, query, refused, rendition

DASH = "\u2013"


# ------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    ("output", "codec"),
    [
        ("mp4", "libx265"),
        ("mp4", "libsvtav1"),
        ("mp4", "LIBX265"),
        ("webm", "libsvtav1"),
    ],
)
def test_it_accepts_the_new_codecs_where_they_fit(output: str, codec: str) -> None:
    assert rendition(output, video_codec=codec).video_codec == codec.lower()


def test_ladders_accept_the_new_codecs() -> None:
    for output, codec, extra in [
        ("advanced_hls", "libx265", {"fmp4": 1}),
        ("advanced_dash", "libx265", {}),
        ("advanced_dash", "libsvtav1", {}),
        ("webm_dash", "libsvtav1", {}),
    ]:
        (spec,) = parse_start_encode2_query(
            query(output, stream=[{"video_codec": codec}, {"video_codec": codec}], **extra)
        ).outputs
        assert {r.video_codec for r in spec.renditions} == {codec}


def test_new_codecs_need_workers_with_the_matching_label() -> None:
    spec = parse_start_encode2_query(
        json.dumps(
            {
                "query": {
                    "source": SOURCE,
                    "format": [
                        {"output": "mp4", "video_codec": "libx265"},
                        {"output": "webm", "video_codec": "libsvtav1"},
                    ],
                }
            }
        )
    )
    assert required_labels(spec) == ("av1", "hevc")


@pytest.mark.parametrize(
    ("output", "fields", "field", "message"),
    [
        ("mp4", {"video_codec": "libx265", "quality": 52}, "quality", f"must be 0{DASH}51"),
        ("mp4", {"video_codec": "libsvtav1", "quality": 0}, "quality", f"1{DASH}63 for libsvtav1"),
        ("mp4", {"video_codec": "libsvtav1", "quality": 64}, "quality", f"0{DASH}63"),
        ("mp4", {"video_codec": "libx265", "profile": "high"}, "profile", "main for libx265"),
        ("mp4", {"video_codec": "libsvtav1", "profile": "baseline"}, "profile", "for libsvtav1"),
        ("mp4", {"video_codec": "libvpx-vp9"}, "video_codec", "not supported yet for mp4"),
        ("mp4", {"video_codec": "lcevc_hevc"}, "video_codec", "not supported yet"),
        ("webm", {"video_codec": "libx265"}, "video_codec", "not supported yet for webm"),
        ("mp4", {"video_codec": "libx265 -y"}, "video_codec", "must be one of"),
    ],
)
def test_it_refuses_codec_settings_that_do_not_fit(
    output: str, fields: dict[str, Any], field: str, message: str
) -> None:
    error = refused(output, **fields)
    assert error.field == f"format[0].{field}" and message in error.message


@pytest.mark.parametrize(
    ("output", "fields", "message"),
    [
        ("advanced_hls", {"stream": [{"video_codec": "libx265"}]}, "needs fmp4: 1"),
        ("advanced_hls", {"stream": [{"video_codec": "libx265"}], "fmp4": 0}, "needs fmp4: 1"),
        (
            "advanced_hls",
            {"stream": [{"video_codec": "libx265"}, {}], "fmp4": 1},
            "same for every stream",
        ),
        (
            "advanced_dash",
            {"stream": [{"video_codec": "libsvtav1"}, {"video_codec": "libx265"}]},
            "same for every stream",
        ),
    ],
)
def test_ladders_keep_one_codec_and_hevc_in_fmp4_only(
    output: str, fields: dict[str, Any], message: str
) -> None:
    error = refused(output, **fields)
    assert error.field == "format[0].stream" and message in error.message


def test_hls_refuses_av1() -> None:
    error = refused("advanced_hls", stream=[{"video_codec": "libsvtav1"}], fmp4=1)
    assert error.field == "format[0].stream[0].video_codec"


def test_it_reads_and_normalises_codec_parameters() -> None:
    found = rendition(
        video_codec_parameters={
            "preset": "Fast",
            "bf": "3",
            "qcomp": "0.60",
            "level": 41,
            "refs": 2.0,
        }
    )
    assert found.video_codec_parameters == (
        ("bf", "3"),
        ("level", "41"),
        ("preset", "fast"),
        ("qcomp", "0.6"),
        ("refs", "2"),
    )


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"video_codec_parameters": "preset=fast"}, "video_codec_parameters", "must be an object"),
        ({"video_codec_parameters": ["preset"]}, "video_codec_parameters", "must be an object"),
        (
            {"video_codec_parameters": {"flags": "+cgop"}},
            "video_codec_parameters",
            "flags is not supported for libx264",
        ),
        (
            {"video_codec_parameters": {"x264opts": "bframes=0"}},
            "video_codec_parameters",
            "x264opts is not supported",
        ),
        ({"video_codec_parameters": {"max_rate": 100}}, "video_codec_parameters", "not supported"),
        (
            {"video_codec_parameters": {"preset": "fast -y /etc/x"}},
            "video_codec_parameters.preset",
            "must be one of",
        ),
        (
            {"video_codec_parameters": {"preset": "fast:bf=9"}},
            "video_codec_parameters.preset",
            "must be one of",
        ),
        ({"video_codec_parameters": {"bf": 17}}, "video_codec_parameters.bf", f"0{DASH}16"),
        ({"video_codec_parameters": {"bf": "1e1"}}, "video_codec_parameters.bf", f"0{DASH}16"),
        ({"video_codec_parameters": {"bf": 1.5}}, "video_codec_parameters.bf", "whole number"),
        ({"video_codec_parameters": {"bf": True}}, "video_codec_parameters.bf", "number"),
        ({"video_codec_parameters": {"bf": "nan"}}, "video_codec_parameters.bf", "number"),
        ({"video_codec_parameters": {"qcomp": "inf"}}, "video_codec_parameters.qcomp", "number"),
        ({"video_codec_parameters": {"level": 99}}, "video_codec_parameters.level", "one of"),
        ({"video_codec_parameters": {"tune": ["film"]}}, "video_codec_parameters.tune", "one of"),
        (
            {"video_codec_parameters": {f"k{n}": 1 for n in range(17)}},
            "video_codec_parameters",
            "at most 16",
        ),
        (
            {"video_codec": "libx265", "video_codec_parameters": {"coder": 1}},
            "video_codec_parameters",
            "coder is not supported for libx265",
        ),
        (
            {"video_codec": "libx265", "video_codec_parameters": {"tune": "film"}},
            "video_codec_parameters.tune",
            "one of",
        ),
        (
            {"video_codec": "libsvtav1", "video_codec_parameters": {"preset": "fast"}},
            "video_codec_parameters.preset",
            f"0{DASH}13",
        ),
        (
            {"video_codec": "libsvtav1", "video_codec_parameters": {"preset": 14}},
            "video_codec_parameters.preset",
            f"0{DASH}13",
        ),
        (
            {"video_codec": "libsvtav1", "video_codec_parameters": {"pred_struct": 1}},
            "video_codec_parameters",
            "pred_struct is not supported",
        ),
    ],
)
def test_it_refuses_codec_parameters_outside_the_allowlist(
    fields: dict[str, Any], field: str, message: str
) -> None:
    error = refused("mp4", **fields)
    assert error.field == f"format[0].{field}" and message in error.message


def test_codec_parameters_do_not_apply_to_vpx_or_pictures() -> None:
    assert "do not apply to libvpx-vp9" in refused("webm", video_codec_parameters={"bf": 1}).message
    assert refused("gif", video_codec_parameters={}).field == "format[0].video_codec_parameters"


def test_a_refused_key_is_named_but_never_echoed_beyond_64_characters() -> None:
    error = refused("mp4", video_codec_parameters={"k" * 500: 1})
    assert "k" * 64 in error.message and "k" * 65 not in error.message


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"two_pass": 1}, "needs a bitrate"),
        ({"two_pass": 1, "quality": 22, "bitrate": 500}, "needs a bitrate and no quality"),
        ({"two_pass": 1, "bitrate": 500, "video_codec": "libsvtav1"}, "applies to libx264"),
        ({"two_pass": 2, "bitrate": 500}, "must be 0 or 1"),
        ({"two_pass": "yes", "bitrate": 500}, "must be 0 or 1"),
    ],
)
def test_it_refuses_two_pass_without_a_bitrate_to_aim_at(
    fields: dict[str, Any], message: str
) -> None:
    error = refused("mp4", **fields)
    assert error.field == "format[0].two_pass" and message in error.message


def test_it_reads_two_pass_on_a_stream() -> None:
    (spec,) = parse_start_encode2_query(
        query("advanced_hls", stream=[{"bitrate": 800, "two_pass": "1"}, {"bitrate": 400}])
    ).outputs
    assert [r.two_pass for r in spec.renditions] == [True, False]


@pytest.mark.parametrize(
    "params",
    [
        [["bf", "1e0"]],  # not the canonical form the parser writes
        [["preset", "fast"], ["bf", "2"]],  # not sorted
        [["bf", "2"], ["bf", "3"]],  # a key twice
        [["x264-params", "bframes=0"]],  # not on the allowlist
        [["preset", "fast:ref=9"]],  # a separator smuggled into a value
    ],
)
def test_the_model_refuses_parameters_the_parser_never_writes(params: list[list[str]]) -> None:
    with pytest.raises(ValidationError):
        OutputSpec.model_validate(
            {"index": 0, "kind": "mp4", "renditions": [{"video_codec_parameters": params}]}
        )


def test_every_allowed_value_is_free_of_separators() -> None:
    for codec, allowed in ALLOWED.items():
        for key, spec in allowed.items():
            for value in spec.choices or (spec.low, spec.high, (spec.low + spec.high) / 2):
                try:
                    text = check_param(codec, key, value)
                except ValueError:
                    continue  # a midpoint that is not whole
                assert not set(text) & set(":=, ;'\"")


# ------------------------------------------------------------------ planning

VIDEO = VideoStreamInfo(
    codec="h264", width=1280, height=720, fps=30.0, pix_fmt="yuv420p", rotation=0
)
MEDIA = MediaInfo(
    format_name="mov,mp4",
    duration=20.0,
    size=1_000_000,
    bit_rate=400_000,
    video=VIDEO,
    audio=AudioStreamInfo("aac", 48000, 2),
    stream_count=2,
)


def planned(*outputs: dict[str, Any]) -> list[tuple[str, ...]]:
    spec = JobSpec.model_validate(
        {"source": "tus:" + "a" * 32, "outputs": [{"index": i, **o} for i, o in enumerate(outputs)]}
    )
    return [command.output_args for command in plan_job(spec, MEDIA, threads=2).commands]


def after(args: tuple[str, ...], flag: str) -> str:
    return args[args.index(flag) + 1]


def test_x265_in_mp4_is_tagged_hvc1_with_x264_like_rate_control() -> None:
    (args,) = planned(
        {
            "kind": "mp4",
            "renditions": [{"video_codec": "libx265", "bitrate": 900, "resolution": 360}],
        }
    )
    assert (after(args, "-c:v:0"), after(args, "-tag:v:0")) == ("libx265", "hvc1")
    assert (after(args, "-preset:v:0"), after(args, "-profile:v:0")) == ("veryfast", "main")
    assert (after(args, "-b:v:0"), after(args, "-maxrate:v:0"), after(args, "-bufsize:v:0")) == (
        "900k",
        "900k",
        "1800k",
    )
    assert after(args, "-x265-params:v:0") == "log-level=error"


def test_x265_in_a_ladder_closes_gops_and_forces_idr_frames() -> None:
    (args,) = planned(
        {
            "kind": "advanced_hls",
            "fmp4": True,
            "segment_duration": 4,
            "renditions": [
                {"video_codec": "libx265", "quality": 28, "video_codec_parameters": [["bf", "2"]]}
            ],
        }
    )
    assert after(args, "-x265-params:v:0") == "log-level=error:scenecut=0:open-gop=0:bframes=2"
    assert after(args, "-forced-idr:v:0") == "1"
    assert after(args, "-force_key_frames:v:0") == "expr:gte(t,n_forced*4)"
    assert after(args, "-crf:v:0") == "28" and after(args, "-hls_segment_type") == "fmp4"


@pytest.mark.parametrize(
    ("fields", "rate"),
    [
        ({"quality": 35}, ("-crf:v:0", "35")),
        ({"quality": 35, "bitrate": 700}, ("-crf:v:0", "35", "-maxrate:v:0", "700k")),
        ({"bitrate": 700}, ("-b:v:0", "700k")),
    ],
)
def test_svtav1_rate_control(fields: dict[str, Any], rate: tuple[str, ...]) -> None:
    (args,) = planned({"kind": "mp4", "renditions": [{"video_codec": "libsvtav1", **fields}]})
    start = args.index("-threads:v:0") + 2
    assert args[start : start + len(rate)] == rate
    assert after(args, "-preset:v:0") == "8" and "-profile:v:0" not in args


def test_svtav1_parameters_go_into_one_svtav1_params_list() -> None:
    (args,) = planned(
        {
            "kind": "webm",
            "renditions": [
                {
                    "video_codec": "libsvtav1",
                    "quality": 40,
                    "video_codec_parameters": [["film_grain", "8"], ["preset", "6"], ["tune", "0"]],
                }
            ],
        }
    )
    assert after(args, "-preset:v:0") == "6" and args.count("-preset:v:0") == 1
    assert after(args, "-svtav1-params:v:0") == "film-grain=8:tune=0"


def test_x264_parameters_become_single_ffmpeg_options_and_a_preset_replaces_ours() -> None:
    (args,) = planned(
        {
            "kind": "mp4",
            "renditions": [
                {
                    "video_codec_parameters": [
                        ["bf", "0"],
                        ["me_method", "umh"],
                        ["preset", "slow"],
                        ["rc_lookahead", "10"],
                    ]
                }
            ],
        }
    )
    assert args.count("-preset:v:0") == 1 and after(args, "-preset:v:0") == "slow"
    assert (
        after(args, "-bf:v:0"),
        after(args, "-motion-est:v:0"),
        after(args, "-rc-lookahead:v:0"),
    ) == ("0", "umh", "10")
    assert not any(flag.startswith("-x264") for flag in args)


def test_encoder_args_never_build_a_parameter_list_for_x264() -> None:
    assert encoder_args("libx264", "v:0", [("bf", "1")], ["ignored=1"]) == ["-bf:v:0", "1"]


def test_two_pass_adds_a_first_pass_that_mirrors_the_main_command() -> None:
    first, main = planned(
        {"kind": "mp4", "renditions": [{"bitrate": 800, "two_pass": True}]},
        {"kind": "thumbnails", "renditions": [{}]},
        {"kind": "webm", "renditions": [{"bitrate": 600, "two_pass": True}]},
    )
    # Same outputs, same stream order: ffmpeg numbers pass logs by output stream index.
    assert first.count("-f") == main.count("-f") == 3
    assert first.count("null") == 3 and first.count("-map") == main.count("-map") == 5
    assert (after(first, "-pass:v:0"), after(main, "-pass:v:0")) == ("1", "2")
    logs = [first[i + 1] for i, flag in enumerate(first) if flag == "-passlogfile:v:0"]
    assert logs == ["passlog/v0", "passlog/v1"]
    assert logs == [main[i + 1] for i, flag in enumerate(main) if flag == "-passlogfile:v:0"]
    assert after(first, "-filter_complex") == after(main, "-filter_complex")


def test_x265_two_pass_uses_its_own_stats_file() -> None:
    first, main = planned(
        {
            "kind": "mp4",
            "renditions": [{"video_codec": "libx265", "bitrate": 800, "two_pass": True}],
        }
    )
    assert after(first, "-x265-params:v:0") == "log-level=error:pass=1:stats=passlog/v0.log"
    assert after(main, "-x265-params:v:0") == "log-level=error:pass=2:stats=passlog/v0.log"
    assert "-pass:v:0" not in first + main


def test_no_first_pass_without_two_pass() -> None:
    assert len(planned({"kind": "mp4", "renditions": [{"bitrate": 800}]})) == 1
