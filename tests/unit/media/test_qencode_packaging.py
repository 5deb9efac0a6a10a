"""start_encode2 -> JobSpec for advanced_dash, webm_dash, hls_audio and repack: each rule, and
attempts to break each one (every refusal is a code-14 QueryError naming the field)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from strongroom.media.jobspec import OutputKind, OutputSpec, RepackSettings
from strongroom.media.qencode import parse_start_encode2_query
from tests.unit.media.one_output import query, refused


def parsed(output: str, **fields: Any) -> OutputSpec:
    (spec,) = parse_start_encode2_query(query(output, **fields)).outputs
    return spec


STREAMS = [{"resolution": 720, "bitrate": 2800}, {"resolution": 360, "bitrate": 800}]


# ------------------------------------------------------------------ advanced_dash


def test_it_reads_an_advanced_dash_ladder_with_defaults() -> None:
    output = parsed("advanced_dash", stream=STREAMS)
    assert output.kind is OutputKind.ADVANCED_DASH
    assert [r.resolution for r in output.renditions] == [720, 360]
    assert (output.manifest_name, output.segment_duration) == ("playlist.mpd", 9)
    assert not output.create_m3u8_playlist


def test_it_reads_the_dash_packaging_fields() -> None:
    output = parsed(
        "advanced_dash",
        stream=STREAMS,
        segment_duration="4",
        playlist_name="index.mpd",
        create_m3u8_playlist="1",
        tag="cmaf",
    )
    assert (output.segment_duration, output.manifest_name) == (4, "index.mpd")
    assert output.create_m3u8_playlist and output.user_tag == "cmaf"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({}, "stream", "must be a non-empty list"),
        ({"stream": []}, "stream", "must be a non-empty list"),
        ({"stream": [{}] * 9}, "stream", "at most 8"),
        ({"stream": ["720p"]}, "stream[0]", "must be an object"),
        ({"stream": [{"video_codec": "libvpx-vp9"}]}, "stream[0].video_codec", "not supported yet"),
        ({"stream": [{"audio_codec": "libopus"}]}, "stream[0].audio_codec", "not supported yet"),
        ({"stream": [{"quality": 60}]}, "stream[0].quality", "must be 0\u201351"),
        ({"stream": [{"segment_duration": 2}]}, "stream[0].segment_duration", "not supported yet"),
        ({"stream": [{"colour": 1}]}, "stream[0]", "unknown field"),
        ({"stream": [{}], "playlist_name": "playlist.m3u8"}, "playlist_name", "ending in .mpd"),
        ({"stream": [{}], "playlist_name": "../x.mpd"}, "playlist_name", "ending in .mpd"),
        ({"stream": [{}], "playlist_name": "a/b.mpd"}, "playlist_name", "ending in .mpd"),
        ({"stream": [{}], "playlist_name": ""}, "playlist_name", "non-empty string"),
        ({"stream": [{}], "segment_duration": 0}, "segment_duration", "must be 1"),
        ({"stream": [{}], "segment_duration": 61}, "segment_duration", "must be 1"),
        ({"stream": [{}], "segment_duration": "x"}, "segment_duration", "whole number"),
        ({"stream": [{}], "create_m3u8_playlist": 2}, "create_m3u8_playlist", "must be 0 or 1"),
        ({"stream": [{}], "create_m3u8_playlist": "yes"}, "create_m3u8_playlist", "0 or 1"),
        ({"stream": [{}], "separate_audio": 0}, "separate_audio", "advanced_hls outputs only"),
        ({"stream": [{}], "resolution": 720}, "resolution", "each stream[] entry"),
        ({"stream": [{}], "audio_copy": 1}, "audio_copy", "repack outputs only"),
        ({"stream": [{}], "fmp4": 1}, "fmp4", "advanced_hls outputs only"),
    ],
)
def test_it_refuses_bad_advanced_dash_settings(
    fields: dict[str, Any], field: str, message: str
) -> None:
    error = refused("advanced_dash", **fields)
    assert error.field == f"format[0].{field}" and message in error.message


# ------------------------------------------------------------------ webm_dash


def test_it_reads_a_webm_dash_ladder() -> None:
    output = parsed(
        "webm_dash",
        stream=[
            {
                "resolution": 360,
                "video_codec": "libvpx-vp9",
                "audio_codec": "libopus",
                "quality": 40,
            }
        ],
    )
    assert output.kind is OutputKind.WEBM_DASH and output.manifest_name == "playlist.mpd"
    assert output.renditions[0].quality == 40


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"stream": [{"video_codec": "libx264"}]}, "stream[0].video_codec", "libvpx-vp9"),
        ({"stream": [{"video_codec": "libvpx"}]}, "stream[0].video_codec", "libvpx-vp9"),
        ({"stream": [{"audio_codec": "aac"}]}, "stream[0].audio_codec", "libopus"),
        ({"stream": [{"audio_sample_rate": 44100}]}, "stream[0].audio_sample_rate", "libopus"),
        ({"stream": [{"quality": 64}]}, "stream[0].quality", "must be 0\u201363"),
        ({"stream": [{"profile": "high"}]}, "stream[0].profile", "applies to libx264 outputs only"),
        (
            {"stream": [{}], "create_m3u8_playlist": 1},
            "create_m3u8_playlist",
            "advanced_dash outputs only",
        ),
        ({"stream": [{}], "playlist_name": "x.m3u8"}, "playlist_name", "ending in .mpd"),
    ],
)
def test_it_refuses_bad_webm_dash_settings(
    fields: dict[str, Any], field: str, message: str
) -> None:
    error = refused("webm_dash", **fields)
    assert error.field == f"format[0].{field}" and message in error.message


def test_the_model_refuses_an_hls_master_over_webm_segments() -> None:
    with pytest.raises(ValidationError):
        OutputSpec.model_validate(
            {"index": 0, "kind": "webm_dash", "create_m3u8_playlist": True, "renditions": [{}]}
        )


# ------------------------------------------------------------------ hls_audio


def test_it_reads_an_hls_audio_output() -> None:
    output = parsed(
        "hls_audio",
        audio_bitrate="96",
        audio_sample_rate=44100,
        audio_channels_number=1,
        segment_duration=4,
        audio_codec="libfdk_aac",
    )
    rendition = output.renditions[0]
    assert output.kind is OutputKind.HLS_AUDIO and output.manifest_name == "playlist.m3u8"
    assert (rendition.audio_bitrate, rendition.audio_sample_rate, rendition.audio_channels) == (
        96,
        44100,
        1,
    )
    assert rendition.audio_codec == "aac" and output.segment_duration == 4


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"resolution": 360}, "resolution", "does not apply to hls_audio"),
        ({"video_codec": "libx264"}, "video_codec", "does not apply to hls_audio"),
        ({"stream": [{}]}, "stream", "advanced_hls, advanced_dash, webm_dash outputs only"),
        ({"audio_codec": "libopus"}, "audio_codec", "not supported yet for hls_audio"),
        ({"audio_codec": "mp3"}, "audio_codec", "not supported yet for hls_audio"),
        ({"audio_bitrate": 4}, "audio_bitrate", "must be 8"),
        ({"audio_channels_number": 9}, "audio_channels_number", "must be 1"),
        ({"audio_sample_rate": 12345}, "audio_sample_rate", "must be one of"),
        ({"playlist_name": "audio.mpd"}, "playlist_name", "ending in .m3u8"),
        ({"separate_audio": 1}, "separate_audio", "advanced_hls outputs only"),
        ({"create_m3u8_playlist": 1}, "create_m3u8_playlist", "advanced_dash outputs only"),
    ],
)
def test_it_refuses_bad_hls_audio_settings(
    fields: dict[str, Any], field: str, message: str
) -> None:
    error = refused("hls_audio", **fields)
    assert error.field == f"format[0].{field}" and message in error.message


# ------------------------------------------------------------------ repack


def test_a_repack_keeps_everything_in_mp4_by_default() -> None:
    output = parsed("repack")
    assert output.kind is OutputKind.REPACK and output.renditions == []
    assert output.repack == RepackSettings()
    assert output.repack.container == "mp4" and output.repack.video and output.repack.subtitles


@pytest.mark.parametrize(
    ("extension", "container"),
    [("mkv", "mkv"), (".MOV", "mov"), ("webm", "webm"), ("ts", "ts"), ("mp4", "mp4")],
)
def test_it_reads_the_repack_container(extension: str, container: str) -> None:
    settings = parsed("repack", file_extension=extension).repack
    assert settings is not None and settings.container == container


def test_it_reads_the_copy_flags() -> None:
    settings = parsed("repack", audio_copy="0", subtitles_copy=0, metadata_copy=False).repack
    assert settings == RepackSettings(audio=False, subtitles=False, metadata=False)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"file_extension": "avi"}, "file_extension", "must be one of: mp4, mov, mkv, webm, ts"),
        ({"file_extension": "mp4/../x"}, "file_extension", "must be one of"),
        ({"file_extension": ""}, "file_extension", "non-empty string"),
        ({"file_extension": 4}, "file_extension", "non-empty string"),
        ({"audio_copy": 2}, "audio_copy", "must be 0 or 1"),
        ({"video_copy": "no"}, "video_copy", "must be 0 or 1"),
        ({"subtitles_copy": 0.5}, "subtitles_copy", "must be 0 or 1"),
        ({"metadata_copy": None}, "metadata_copy", "must be 0 or 1"),
        ({"video_copy": 0, "audio_copy": 0}, "", "nothing to repack"),
        ({"video_codec": "libx264"}, "video_codec", "does not apply to repack"),
        ({"audio_bitrate": 128}, "audio_bitrate", "does not apply to repack"),
        ({"start_time": 2}, "start_time", "does not apply to repack"),
        ({"duration": 2}, "duration", "does not apply to repack"),
        ({"stream": [{}]}, "stream", "outputs only"),
        ({"playlist_name": "x.m3u8"}, "playlist_name", "outputs only"),
        ({"segment_duration": 4}, "segment_duration", "outputs only"),
        ({"colour": 1}, "", "unknown field"),
    ],
)
def test_it_refuses_bad_repack_settings(fields: dict[str, Any], field: str, message: str) -> None:
    error = refused("repack", **fields)
    assert error.field == ("format[0]." + field if field else "format[0]")
    assert message in error.message


@pytest.mark.parametrize("output", ["mp4", "webm", "mp3"])
@pytest.mark.parametrize(
    "flag", ["audio_copy", "video_copy", "subtitles_copy", "metadata_copy", "file_extension"]
)
def test_repack_fields_are_refused_on_other_kinds(output: str, flag: str) -> None:
    error = refused(output, **{flag: 1})
    assert error.field == f"format[0].{flag}" and "repack outputs only" in error.message


# ------------------------------------------------------------------ the model's own backstop


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "advanced_dash", "renditions": []},
        {"kind": "webm_dash", "renditions": [{"video_codec": "libx264"}]},
        {"kind": "advanced_dash", "renditions": [{}], "playlist_name": "x.m3u8"},
        {"kind": "advanced_hls", "renditions": [{}], "playlist_name": "x.mpd"},
        {"kind": "mp4", "renditions": [{}], "playlist_name": "x.m3u8"},
        {"kind": "advanced_hls", "renditions": [{}], "create_m3u8_playlist": True},
        {"kind": "mp4", "renditions": [{}], "repack": {}},
        {"kind": "repack", "renditions": [{}]},
        {"kind": "repack", "repack": {"container": "avi"}},
        {"kind": "repack", "repack": {"video": False, "audio": False}},
        {"kind": "repack", "repack": {"extra": 1}},
        {"kind": "hls_audio", "renditions": []},
        {"kind": "hls_audio", "renditions": [{"resolution": 360}]},
    ],
)
def test_the_model_refuses_what_the_parser_would(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        OutputSpec.model_validate({"index": 0, **fields})
