"""build_argv golden tests: the hardening flags around a planned command."""

from __future__ import annotations

from pathlib import Path

from strongroom.media.allowlists import POLICIES, InputPolicy
from strongroom.media.argv import build_argv
from strongroom.media.limits import Limits
from strongroom.media.planner import FfmpegCommand, InputFile

FFMPEG = Path("/opt/ffmpeg/bin/ffmpeg")
SOURCE_FORMATS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mpegts,avi,flv,mpeg,wav,mp3,aac,ogg,flac"
SOURCE_CODECS = (
    "h264,hevc,vp8,vp9,av1,libdav1d,mpeg4,mpeg2video,mpeg1video,mjpeg,prores,dnxhd,theora,h263,"
    "flv,png,aac,aac_fixed,mp3,mp3float,mp2,mp2float,ac3,ac3_fixed,eac3,opus,libopus,vorbis,"
    "libvorbis,flac,alac,pcm_s16le,pcm_s16be,pcm_s24le,pcm_s24be,pcm_s32le,pcm_f32le,pcm_u8,"
    "pcm_mulaw,pcm_alaw"
)
COMMAND = FfmpegCommand(
    inputs=(InputFile("source", ("-threads", "1", "-ss", "2")),),
    output_args=("-map", "0:v", "-f", "mp4", "out0/video.mp4"),
    expected_duration=10.0,
)


def test_it_wraps_an_untrusted_input_in_allowlists_and_limits() -> None:
    assert build_argv(FFMPEG, COMMAND, Limits()) == [
        "/opt/ffmpeg/bin/ffmpeg", "-nostdin", "-hide_banner", "-nostats",
        "-loglevel", "error", "-progress", "pipe:1",
        "-protocol_whitelist", "file,pipe", "-format_whitelist", SOURCE_FORMATS,
        "-codec_whitelist", SOURCE_CODECS, "-max_streams", "8", "-max_pixels", "35000000",
        "-threads", "1", "-ss", "2", "-i", "file:source",
        "-map", "0:v", "-f", "mp4", "out0/video.mp4",
    ]


def test_it_uses_the_limits_it_is_given() -> None:
    argv = build_argv(FFMPEG, COMMAND, Limits(max_streams=3, max_pixels=8_294_400))
    assert argv[argv.index("-max_streams") + 1] == "3"
    assert argv[argv.index("-max_pixels") + 1] == "8294400"


def test_it_verifies_own_outputs_with_hls_and_dash_allowed_and_xerror() -> None:
    command = FfmpegCommand(inputs=(InputFile("out1/playlist.m3u8"),),
                            output_args=("-map", "0", "-f", "null", "-"), expected_duration=4.0)
    assert build_argv(FFMPEG, command, Limits(), policy=InputPolicy.OWN_OUTPUT) == [
        "/opt/ffmpeg/bin/ffmpeg", "-nostdin", "-hide_banner", "-nostats",
        "-loglevel", "error", "-progress", "pipe:1", "-xerror",
        "-protocol_whitelist", "file", "-format_whitelist",
        "hls,dash,mpegts,mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mp3,flac,"
        "image2,png_pipe,jpeg_pipe,webp_pipe,gif,webp_anim",
        "-codec_whitelist",
        "h264,hevc,av1,libdav1d,aac,aac_fixed,vp8,vp9,opus,vorbis,mp3float,mp3,flac,png,mjpeg,"
        "webp,webp_anim,gif",
        "-max_streams", "8",
        "-max_pixels", "35000000", "-i", "file:out1/playlist.m3u8",
        "-map", "0", "-f", "null", "-",
    ]


def test_it_passes_generator_inputs_through_without_a_file_prefix() -> None:
    command = FfmpegCommand(inputs=(InputFile("testsrc2=size=320x240", ("-f", "lavfi")),),
                            output_args=("x.mp4",), expected_duration=1.0)
    argv = build_argv(FFMPEG, command, Limits(), policy=InputPolicy.GENERATED)
    assert argv[8:] == ["-protocol_whitelist", "file", "-format_whitelist", "lavfi",
                        "-max_streams", "8", "-max_pixels", "35000000",
                        "-f", "lavfi", "-i", "testsrc2=size=320x240", "x.mp4"]


def test_it_cannot_be_tricked_into_reading_a_file_name_as_an_option_or_protocol() -> None:
    for name in ("-filter_complex", "concat:/etc/passwd|x", "http://127.0.0.1/x"):
        command = FfmpegCommand(inputs=(InputFile(name),), output_args=(), expected_duration=1)
        argv = build_argv(FFMPEG, command, Limits())
        assert argv[argv.index("-i") + 1] == f"file:{name}"


def test_it_never_lets_untrusted_input_use_hls_concat_or_lavfi() -> None:
    formats = POLICIES[InputPolicy.UNTRUSTED].formats.split(",")
    assert not {"hls", "concat", "lavfi", "image2", "png_pipe", "tty"} & set(formats)
    assert POLICIES[InputPolicy.UNTRUSTED].protocols == "file,pipe"
    assert "magicyuv" not in POLICIES[InputPolicy.UNTRUSTED].codecs


def test_own_output_verification_still_refuses_source_only_demuxers_and_decoders() -> None:
    # Widened for the formats we write, never for what only untrusted sources use.
    allow = POLICIES[InputPolicy.OWN_OUTPUT]
    formats, codecs = allow.formats.split(","), allow.codecs.split(",")
    for name in ("concat", "lavfi", "avi", "flv", "mpeg", "ogg", "wav", "image2pipe"):
        assert name not in formats
    # hevc and av1 are written by libx265 / libsvtav1 outputs, so they are read back too.
    for name in ("prores", "dnxhd", "mpeg4", "theora", "pcm_s16le", "ac3"):
        assert name not in codecs
    assert allow.protocols == "file"
