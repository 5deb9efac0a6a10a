"""Qencode query -> JobSpec for webm, mp3, flac, thumbnail(s), gif and metadata outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from strongroom.media.jobspec import ImageFormat, OutputKind
from strongroom.media.qencode import QueryError, parse_start_encode2_query
from strongroom.media.qencode_values import RANGE_DASH

SOURCE = "https://example.com/in.mp4"
DASH = RANGE_DASH


def query(output: str, **fields: Any) -> str:
    return json.dumps({"query": {"source": SOURCE, "format": [{"output": output, **fields}]}})


def refused(text: str) -> QueryError:
    with pytest.raises(QueryError) as caught:
        parse_start_encode2_query(text)
    assert caught.value.code == 14
    return caught.value


def test_it_reads_a_webm_with_numbers_as_strings() -> None:
    (output,) = parse_start_encode2_query(query(
        "webm", video_codec="libvpx", audio_codec="libvorbis", quality="60", bitrate="900",
        size="640x360", audio_sample_rate="44100", keyframe="2s", tag="web")).outputs
    (rendition,) = output.renditions
    assert output.kind is OutputKind.WEBM and output.user_tag == "web"
    assert (rendition.video_codec, rendition.audio_codec) == ("libvpx", "libvorbis")
    assert (rendition.quality, rendition.bitrate, rendition.width) == (60, 900, 640)


def test_a_webm_defaults_to_vp9_and_opus() -> None:
    (rendition,) = parse_start_encode2_query(query("webm")).outputs[0].renditions
    assert (rendition.video_codec, rendition.audio_codec) == (None, None)


@pytest.mark.parametrize("fields, field, message", [
    ({"quality": 64}, "quality", f"must be 0{DASH}63"),
    ({"video_codec": "libvpx", "quality": 2}, "quality", f"must be 4{DASH}63 for libvpx"),
    ({"video_codec": "libx264"}, "video_codec", "libx264 is not supported yet for webm"),
    ({"video_codec": "lcevc_hevc"}, "video_codec", "not supported yet"),
    ({"video_codec": "h263"}, "video_codec", "must be one of: libvpx-vp9, libvpx, libsvtav1"),
    ({"audio_codec": "aac"}, "audio_codec", "aac is not supported yet for webm"),
    ({"audio_sample_rate": 44100}, "audio_sample_rate", "for libopus"),
    ({"profile": "high"}, "profile", "applies to libx264 outputs only"),
    ({"segment_duration": 4}, "segment_duration", "applies to advanced_hls, advanced_dash, "),
    ({"interval": 4}, "interval", "does not apply to webm outputs"),
])
def test_it_refuses_webm_settings_that_do_not_fit(fields: dict[str, Any], field: str,
                                                  message: str) -> None:
    error = refused(query("webm", **fields))
    assert error.field == f"format[0].{field}" and message in error.message


def test_it_still_refuses_vp9_in_an_mp4() -> None:
    error = refused(query("mp4", video_codec="libvpx-vp9"))
    assert error.message == ("format[0].video_codec libvpx-vp9 is not supported yet for mp4 "
                             "outputs (supported: libx264, libx265, libsvtav1)")


def test_it_reads_audio_only_outputs() -> None:
    mp3, flac = parse_start_encode2_query(json.dumps({"query": {"source": SOURCE, "format": [
        {"output": "mp3", "audio_codec": "mp3", "audio_bitrate": "192",
         "audio_sample_rate": "44100", "audio_channels_number": "1", "start_time": "1"},
        {"output": "flac", "audio_codec": "flac"}]}})).outputs
    assert (mp3.kind, mp3.renditions[0].audio_codec, mp3.renditions[0].audio_bitrate) == (
        OutputKind.MP3, "libmp3lame", 192)
    assert (mp3.renditions[0].audio_channels, mp3.start_time) == (1, 1.0)
    assert (flac.kind, flac.renditions[0].audio_codec) == (OutputKind.FLAC, "flac")


def test_a_bitrate_on_flac_is_ignored_with_a_warning() -> None:
    job = parse_start_encode2_query(query("flac", audio_bitrate=320))
    assert job.warnings == ["format[0].audio_bitrate: flac is lossless, the bitrate was ignored"]
    assert refused(query("flac", audio_bitrate=5000)).field == "format[0].audio_bitrate"


@pytest.mark.parametrize("output, fields, field, message", [
    ("mp3", {"resolution": 720}, "resolution", "does not apply to mp3 outputs"),
    ("mp3", {"bitrate": 800}, "bitrate", "does not apply to mp3 outputs"),
    ("mp3", {"audio_channels_number": 6}, "audio_channels_number", f"must be 1{DASH}2 for mp3"),
    ("mp3", {"audio_sample_rate": 96000}, "audio_sample_rate", "for mp3"),
    ("mp3", {"audio_codec": "aac"}, "audio_codec", "aac is not supported yet for mp3"),
    ("flac", {"audio_codec": "mp3"}, "audio_codec", "not supported yet for flac"),
    ("flac", {"audio_codec": "wav"}, "audio_codec", "must be one of: flac"),
    ("flac", {"sprite": 1}, "sprite", "does not apply to flac outputs"),
])
def test_it_refuses_audio_only_settings_that_do_not_fit(output: str, fields: dict[str, Any],
                                                        field: str, message: str) -> None:
    error = refused(query(output, **fields))
    assert error.field == f"format[0].{field}" and message in error.message


def test_it_reads_a_thumbnail() -> None:
    (output,) = parse_start_encode2_query(query(
        "thumbnail", time="0.25", image_format="JPG", quality="80", width="320")).outputs
    assert output.images is not None
    assert (output.images.time, output.images.image_format, output.images.quality) == (
        0.25, ImageFormat.JPG, 80)
    assert output.renditions[0].width == 320 and output.renditions[0].quality is None


def test_it_reads_a_sprite_series() -> None:
    (output,) = parse_start_encode2_query(query(
        "thumbnails", interval="2.5", sprite="1", columns="4", resolution=90,
        image_format="webp")).outputs
    images = output.images
    assert images is not None
    assert (images.interval, images.sprite, images.columns, images.image_format) == (
        2.5, True, 4, ImageFormat.WEBP)


def test_it_reads_a_gif_and_an_animated_webp() -> None:
    gif, webp = parse_start_encode2_query(json.dumps({"query": {"source": SOURCE, "format": [
        {"output": "gif", "framerate": "8", "size": "320x180", "duration": 3},
        {"output": "gif", "image_format": "webp", "quality": 40}]}})).outputs
    assert gif.renditions[0].framerate == "8" and gif.duration == 3.0
    assert webp.images is not None and webp.images.image_format is ImageFormat.WEBP


@pytest.mark.parametrize("output, fields, field, message", [
    ("thumbnail", {"time": 1.5}, "time", f"must be 0{DASH}1"),
    ("thumbnail", {"time": "half"}, "time", "must be a number"),
    ("thumbnail", {"frame_number": -1}, "frame_number", f"must be 0{DASH}10000000"),
    ("thumbnail", {"image_format": "bmp"}, "image_format", "must be one of: png, jpg, webp"),
    ("thumbnail", {"quality": 0}, "quality", f"must be 1{DASH}100"),
    ("thumbnail", {"interval": 5}, "interval", "does not apply to thumbnail outputs"),
    ("thumbnail", {"bitrate": 5}, "bitrate", "does not apply to thumbnail outputs"),
    ("thumbnail", {"framerate": "5"}, "framerate", "does not apply to thumbnail outputs"),
    ("thumbnails", {"interval": 0.05}, "interval", f"must be 0.1{DASH}3600"),
    ("thumbnails", {"sprite": 2}, "sprite", "must be 0 or 1"),
    ("thumbnails", {"sprite": 1, "columns": 51}, "columns", f"must be 1{DASH}50"),
    ("thumbnails", {"time": 0.5}, "time", "does not apply to thumbnails outputs"),
    ("gif", {"image_format": "png"}, "image_format", "must be one of: gif, webp"),
    ("gif", {"framerate": "0"}, "framerate", "must be above 0"),
    ("gif", {"audio_codec": "aac"}, "audio_codec", "does not apply to gif outputs"),
    ("metadata", {"resolution": 720}, "resolution", "does not apply to metadata outputs"),
    ("metadata", {"start_time": 2}, "start_time", "does not apply to metadata outputs"),
])
def test_it_refuses_picture_settings_that_do_not_fit(output: str, fields: dict[str, Any],
                                                     field: str, message: str) -> None:
    error = refused(query(output, **fields))
    assert error.field == f"format[0].{field}" and message in error.message


@pytest.mark.parametrize("output, fields, message", [
    ("thumbnails", {"columns": 4}, "format[0] columns applies to sprites only"),
    ("thumbnail", {"quality": 50}, "format[0] quality applies to jpg and webp images only"),
    ("gif", {"quality": 50}, "format[0] quality applies to jpg and webp images only"),
])
def test_it_refuses_combinations_with_the_formats_path(output: str, fields: dict[str, Any],
                                                       message: str) -> None:
    error = refused(query(output, **fields))
    assert (error.field, error.message) == ("format[0]", message)


def test_it_reads_a_metadata_output() -> None:
    (output,) = parse_start_encode2_query(query("metadata", tag="probe")).outputs
    assert (output.kind, output.renditions, output.user_tag) == (OutputKind.METADATA, [], "probe")


@pytest.mark.parametrize("output", ["webm", "mp3", "thumbnails", "gif", "metadata"])
def test_it_refuses_unknown_and_unsupported_fields_for_every_new_kind(output: str) -> None:
    assert refused(query(output, bogus=1)).message == "format[0]: unknown field(s): bogus"
    assert refused(query(output, logo={"source": "https://a/l.png"})).message == (
        "format[0]: logo is not supported yet")
