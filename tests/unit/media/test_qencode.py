"""Qencode v1 start_encode2 query -> JobSpec: every rule, and attempts to break each."""

from __future__ import annotations

import json
from typing import Any

import pytest

from strongroom.media.jobspec import OutputKind
from strongroom.media.qencode import QueryError, parse_start_encode2_query
from strongroom.media.qencode_values import RANGE_DASH

SOURCE = "https://example.com/in.mp4"
DASH = RANGE_DASH  # messages read "1\u2013100000", as in the brief's examples


def wrap(query: Any) -> str:
    return json.dumps({"query": query})


def mp4(**fields: Any) -> str:
    return wrap({"source": SOURCE, "format": [{"output": "mp4", **fields}]})


def hls(streams: list[dict[str, Any]], **fields: Any) -> str:
    return wrap({"source": SOURCE,
                 "format": [{"output": "advanced_hls", "stream": streams, **fields}]})


def refused(text: str) -> QueryError:
    with pytest.raises(QueryError) as caught:
        parse_start_encode2_query(text)
    return caught.value


# ------------------------------------------------------------------ wrapper and JSON


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]", '"query"', "{", "null"])
def test_it_rejects_text_that_is_not_a_json_object(text: str) -> None:
    error = refused(text)
    assert (error.code, error.field) == (14, "query")


def test_it_answers_19_when_the_query_wrapper_is_missing() -> None:
    error = refused(json.dumps({"source": SOURCE, "format": [{"output": "mp4"}]}))
    assert (error.code, error.message, error.field) == (19, "query field is required", "query")


def test_it_rejects_a_wrapper_that_is_not_an_object() -> None:
    assert refused(json.dumps({"query": "x"})).code == 14


def test_it_rejects_extra_fields_beside_the_wrapper() -> None:
    error = refused(json.dumps({"query": {"source": SOURCE, "format": []}, "extra": 1}))
    assert error.code == 14 and "extra" in error.message


def test_it_rejects_duplicate_keys_instead_of_picking_one() -> None:
    text = '{"query": {"source": "https://a.example/x.mp4", "source": "tus:' + "a" * 32 + '"}}'
    error = refused(text)
    assert error.code == 14 and "duplicate" in error.message


def test_it_rejects_nan_and_infinity() -> None:
    assert refused('{"query": {"source": "' + SOURCE + '", "format": '
                   '[{"output": "mp4", "bitrate": NaN}]}}').code == 14


def test_it_rejects_deeply_nested_json_without_crashing() -> None:
    assert refused("[" * 100_000 + "]" * 100_000).code == 14


# ------------------------------------------------------------------ source and format


def test_it_requires_a_source() -> None:
    error = refused(wrap({"format": [{"output": "mp4"}]}))
    assert (error.code, error.field) == (14, "source") and "source" in error.message


def test_it_requires_a_non_empty_source() -> None:
    assert refused(wrap({"source": "", "format": [{"output": "mp4"}]})).field == "source"


@pytest.mark.parametrize("source", [
    "ftp://example.com/a.mp4", "file:///etc/passwd", "javascript:alert(1)",
    "https://user:pass@example.com/a.mp4", "tus:not-a-uuid", "https://", "https://a b.com/",
    "s3://KEY:SECRET@host/bucket/a.mp4", 42,
])
def test_it_rejects_sources_that_are_not_http_urls_or_tus_uploads(source: Any) -> None:
    error = refused(wrap({"source": source, "format": [{"output": "mp4"}]}))
    assert (error.code, error.field) == (14, "source")
    assert "SECRET" not in error.message and "pass" not in error.message


@pytest.mark.parametrize("source", [
    "tus:1c09cfd028ac4e24a7c1254c4c44ae0e", "tus:1c09cfd0-28ac-4e24-a7c1-254c4c44ae0e",
    "http://example.com/a.mp4", "https://cdn.example.com/path/a.mov?sig=1",
])
def test_it_accepts_http_and_tus_sources(source: str) -> None:
    assert parse_start_encode2_query(wrap({"source": source,
                                           "format": [{"output": "mp4"}]})).source == source


@pytest.mark.parametrize("formats", [None, [], {}, "mp4", [1], [{"output": "mp4"}, "x"]])
def test_it_requires_a_non_empty_list_of_formats(formats: Any) -> None:
    query: dict[str, Any] = {"source": SOURCE}
    if formats is not None:
        query["format"] = formats
    error = refused(wrap(query))
    assert error.code == 14 and error.field == "format"


def test_it_refuses_more_than_ten_outputs() -> None:
    error = refused(wrap({"source": SOURCE, "format": [{"output": "mp4"}] * 11}))
    assert error.field == "format" and "10" in error.message


def test_it_requires_an_output_type() -> None:
    assert refused(wrap({"source": SOURCE, "format": [{"size": "640x360"}]})).field == (
        "format[0].output")


@pytest.mark.parametrize("output", ["speech_to_text", "hls", "dash"])
def test_it_says_other_output_types_are_not_supported_yet(output: str) -> None:
    error = refused(wrap({"source": SOURCE, "format": [{"output": output}]}))
    assert error.code == 14 and "not supported yet" in error.message and output in error.message


def test_it_rejects_an_unknown_output_type() -> None:
    error = refused(wrap({"source": SOURCE, "format": [{"output": "exe"}]}))
    assert "not a known output type" in error.message


# ------------------------------------------------------------------ unknown / unsupported


def test_it_names_all_unknown_format_fields() -> None:
    error = refused(mp4(foo=1, bar=2))
    assert error.code == 14
    assert error.message == "format[0]: unknown field(s): foo, bar"


def test_it_names_unknown_top_level_fields() -> None:
    error = refused(wrap({"source": SOURCE, "format": [{"output": "mp4"}], "zzz": 1}))
    assert error.message == "query: unknown field(s): zzz"


def test_it_names_unknown_stream_fields_with_their_path() -> None:
    error = refused(hls([{"resolution": 360}, {"resolution": 240, "bogus": 1}]))
    assert error.message == "format[0].stream[1]: unknown field(s): bogus"


@pytest.mark.parametrize("field", ["stitch", "refresh_playlist"])
def test_it_refuses_documented_top_level_fields_it_cannot_honour(field: str) -> None:
    error = refused(wrap({"source": SOURCE, "format": [{"output": "mp4"}], field: "x"}))
    assert error.message == f"query: {field} is not supported yet"


@pytest.mark.parametrize("field, value", [
    ("logo", {"source": "https://a/l.png"}),
    ("subtitles", {"sources": []}), ("encryption", {"key": "00"}), ("cenc_drm", {}),
    ("fps_drm", {}), ("optimize_bitrate", 1), ("hdr_to_sdr", 1), ("color_space", "bt709"),
])
def test_it_refuses_documented_format_fields_it_cannot_honour(field: str, value: Any) -> None:
    error = refused(mp4(**{field: value}))
    assert error.code == 14
    assert error.message == f"format[0]: {field} is not supported yet"
    assert error.field == f"format[0].{field}"


def test_it_lists_several_unsupported_fields_together() -> None:
    error = refused(mp4(logo={}, subtitles={}))
    assert error.message == "format[0]: logo, subtitles are not supported yet"


def test_it_refuses_unsupported_fields_on_a_stream() -> None:
    error = refused(hls([{"resolution": 360, "start_time": 3}]))
    assert error.message == "format[0].stream[0]: start_time is not supported yet"


@pytest.mark.parametrize("field, value", [
    ("upscale", 0), ("retry_on_error", "0"), ("use_subtask_callback", 0),
    ("refresh_playlist", 0), ("encoder_version", 1), ("encoder_version", "2"),
])
def test_it_accepts_harmless_top_level_fields(field: str, value: Any) -> None:
    query = {"source": SOURCE, "format": [{"output": "mp4"}], field: value}
    assert len(parse_start_encode2_query(wrap(query)).outputs) == 1


@pytest.mark.parametrize("field, value", [("upscale", 1), ("encoder_version", 3),
                                          ("retry_on_error", True)])
def test_it_refuses_other_values_of_harmless_fields(field: str, value: Any) -> None:
    assert refused(wrap({"source": SOURCE, "format": [{"output": "mp4"}],
                         field: value})).code == 14


@pytest.mark.parametrize("field, value", [
    ("two_pass", 0), ("optimize_bitrate", "0"), ("pix_format", "yuv420p"),
    ("resize_mode", "scale"), ("allow_soft_fail", 0), ("audio_mute", 0),
])
def test_it_accepts_default_valued_toggles_in_a_format(field: str, value: Any) -> None:
    assert parse_start_encode2_query(mp4(**{field: value})).outputs[0].kind is OutputKind.MP4


# ------------------------------------------------------------------ mp4 fields


def test_it_reads_every_supported_mp4_field_including_numbers_as_strings() -> None:
    job = parse_start_encode2_query(mp4(
        size="1280x720", video_codec="libx264", profile="high", quality="22", bitrate="3000",
        framerate="29.97", keyframe="2s", audio_codec="aac", audio_bitrate="96",
        audio_sample_rate="44100", audio_channels_number="1", start_time="1.5",
        duration="10", tag="hd"))
    (output,) = job.outputs
    (rendition,) = output.renditions
    assert (output.start_time, output.duration, output.user_tag) == (1.5, 10.0, "hd")
    assert (rendition.width, rendition.height, rendition.profile) == (1280, 720, "high")
    assert (rendition.quality, rendition.bitrate) == (22, 3000)
    assert (rendition.framerate, rendition.keyframe) == ("29.97", "2s")
    assert (rendition.audio_bitrate, rendition.audio_sample_rate,
            rendition.audio_channels) == (96, 44100, 1)
    assert job.warnings == []


def test_it_accepts_real_numbers_too() -> None:
    (rendition,) = parse_start_encode2_query(
        mp4(width=640, resolution=360, bitrate=800.0, framerate=25, keyframe=50)
    ).outputs[0].renditions
    assert (rendition.width, rendition.resolution, rendition.bitrate) == (640, 360, 800)
    assert (rendition.framerate, rendition.keyframe) == ("25", "50")


def test_it_serves_libfdk_aac_with_aac_and_warns() -> None:
    job = parse_start_encode2_query(mp4(audio_codec="libfdk_aac"))
    assert job.outputs[0].renditions[0].audio_codec == "aac"
    assert job.warnings == ["format[0].audio_codec: libfdk_aac is served by the aac encoder"]


@pytest.mark.parametrize("codec", ["lcevc_h264", "libvpx-vp9", "lcevc_hevc"])
def test_it_says_other_video_codecs_are_not_supported_yet(codec: str) -> None:
    error = refused(mp4(video_codec=codec))
    assert error.field == "format[0].video_codec" and "not supported yet" in error.message


def test_it_says_other_audio_codecs_are_not_supported_yet() -> None:
    assert "not supported yet" in refused(mp4(audio_codec="libopus")).message


@pytest.mark.parametrize("field, value, message", [
    ("width", 8, f"format[0].width must be 16{DASH}7680"),
    ("width", 7682, f"format[0].width must be 16{DASH}7680"),
    ("height", 641, "format[0].height must be even"),
    ("width", "12.5", "format[0].width must be a whole number"),
    ("width", True, "format[0].width must be a whole number"),
    ("resolution", 4321, f"format[0].resolution must be 16{DASH}4320"),
    ("quality", 52, f"format[0].quality must be 0{DASH}51"),
    ("quality", -1, f"format[0].quality must be 0{DASH}51"),
    ("bitrate", 0, f"format[0].bitrate must be 1{DASH}100000"),
    ("bitrate", "100001", f"format[0].bitrate must be 1{DASH}100000"),
    ("audio_bitrate", 7, f"format[0].audio_bitrate must be 8{DASH}512"),
    ("audio_channels_number", 9, f"format[0].audio_channels_number must be 1{DASH}8"),
    ("start_time", -1, f"format[0].start_time must be 0{DASH}86400"),
    ("duration", 86401, f"format[0].duration must be 0{DASH}86400"),
    ("duration", 0, "format[0].duration must be above 0"),
    ("start_time", "soon", "format[0].start_time must be a number"),
    ("size", "1280*720", 'format[0].size must be "<width>x<height>", e.g. "1280x720"'),
    ("size", "1281x720", "format[0].size must be even"),
    ("profile", "extreme", "format[0].profile must be one of: baseline, main, high"),
])
def test_it_checks_ranges_and_names_the_field(field: str, value: Any, message: str) -> None:
    error = refused(mp4(**{field: value}))
    assert (error.code, error.message) == (14, message)


@pytest.mark.parametrize("rate", ["0", "121", "30/0", "abc", "-5", "1e3"])
def test_it_rejects_bad_framerates(rate: str) -> None:
    assert refused(mp4(framerate=rate)).field == "format[0].framerate"


@pytest.mark.parametrize("keyframe", ["0", "1201", "0s", "61s", "2m", "-1"])
def test_it_rejects_bad_keyframe_intervals(keyframe: str) -> None:
    assert refused(mp4(keyframe=keyframe)).field == "format[0].keyframe"


def test_it_rejects_an_unsupported_sample_rate() -> None:
    error = refused(mp4(audio_sample_rate=12345))
    assert error.field == "format[0].audio_sample_rate" and "48000" in error.message


def test_it_refuses_size_combined_with_width() -> None:
    assert refused(mp4(size="640x360", width=640)).field == "format[0].size"


def test_it_refuses_hls_fields_on_an_mp4() -> None:
    error = refused(mp4(segment_duration=4))
    assert error.message == (
        "format[0].segment_duration applies to advanced_hls, advanced_dash, webm_dash, hls_audio"
        " outputs only")


def test_it_refuses_an_overlong_tag() -> None:
    assert refused(mp4(tag="x" * 257)).field == "format[0].tag"


# ------------------------------------------------------------------ advanced_hls


def test_it_reads_an_hls_ladder() -> None:
    job = parse_start_encode2_query(hls(
        [{"resolution": 1080, "bitrate": "5000", "tag": "top"}, {"size": "640x360"}],
        segment_duration="4", playlist_name="index.m3u8", separate_audio="0", start_time=2))
    (output,) = job.outputs
    assert output.kind is OutputKind.ADVANCED_HLS
    assert (output.segment_duration, output.playlist_name) == (4, "index.m3u8")
    assert output.separate_audio is False and output.start_time == 2.0
    assert [r.resolution for r in output.renditions] == [1080, None]
    assert output.renditions[0].user_tag == "top"


def test_it_defaults_hls_to_separate_audio_and_nine_second_segments() -> None:
    (output,) = parse_start_encode2_query(hls([{"resolution": 360}])).outputs
    assert output.separate_audio and output.segment_duration == 9
    assert output.playlist_name is None and output.manifest_name == "playlist.m3u8"


def test_it_names_the_stream_in_range_errors() -> None:
    query = wrap({"source": SOURCE, "format": [
        {"output": "mp4"},
        {"output": "advanced_hls", "stream": [{"bitrate": 0}]}]})
    assert refused(query).message == f"format[1].stream[0].bitrate must be 1{DASH}100000"


@pytest.mark.parametrize("streams", [None, [], "x", [1]])
def test_it_requires_hls_streams(streams: Any) -> None:
    fields = {} if streams is None else {"stream": streams}
    text = wrap({"source": SOURCE, "format": [{"output": "advanced_hls", **fields}]})
    assert refused(text).code == 14


def test_it_refuses_more_than_eight_streams() -> None:
    error = refused(hls([{"resolution": 360}] * 9))
    assert error.field == "format[0].stream" and "8" in error.message


def test_it_refuses_rendition_fields_at_hls_format_level() -> None:
    error = refused(hls([{"resolution": 360}], resolution=720))
    assert error.field == "format[0].resolution" and "stream[]" in error.message


@pytest.mark.parametrize("name", ["../escape.m3u8", "/abs.m3u8", "list.txt", ".hidden.m3u8",
                                  "a/b.m3u8", "x" * 120 + ".m3u8", ""])
def test_it_refuses_unsafe_playlist_names(name: str) -> None:
    assert refused(hls([{"resolution": 360}], playlist_name=name)).field == (
        "format[0].playlist_name")


@pytest.mark.parametrize("value", [2, "yes", 0.5])
def test_it_refuses_flags_that_are_not_0_or_1(value: Any) -> None:
    error = refused(hls([{"resolution": 360}], separate_audio=value))
    assert error.message == "format[0].separate_audio must be 0 or 1"


@pytest.mark.parametrize("field", ["segment_duration"])
@pytest.mark.parametrize("value", [0, 61, "x"])
def test_it_checks_the_segment_duration(field: str, value: Any) -> None:
    assert refused(hls([{"resolution": 360}], **{field: value})).field == f"format[0].{field}"


def test_it_never_echoes_a_huge_unknown_key_in_full() -> None:
    error = refused(mp4(**{"k" * 10_000: 1}))
    assert len(error.message) < 200


def test_it_keeps_a_callback_url() -> None:
    spec = parse_start_encode2_query(wrap({"source": SOURCE, "format": [{"output": "mp4"}],
                                           "callback_url": "https://hooks.example.com/q?x=1"}))
    assert spec.callback_url == "https://hooks.example.com/q?x=1"


@pytest.mark.parametrize("url", ["tus:" + "a" * 32, "ftp://h/x", "https://user:pw@h/x",
                                 "https://h/" + "x" * 4000, "not a url", 42])
def test_it_refuses_a_callback_url_that_is_not_a_plain_http_url(url: object) -> None:
    error = refused(wrap({"source": SOURCE, "format": [{"output": "mp4"}], "callback_url": url}))
    assert error.field == "callback_url" and "callback_url" in error.message
