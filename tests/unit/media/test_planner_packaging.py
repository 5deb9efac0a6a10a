"""Planner golden tests for advanced_dash, webm_dash, hls_audio and repack (no ffmpeg)."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom.media.errors import InputRejected
from strongroom.media.jobspec import JobSpec
from strongroom.media.planner import plan_job
from strongroom.media.probe import AudioStreamInfo, MediaInfo, VideoStreamInfo

VIDEO = VideoStreamInfo(codec="h264", width=1280, height=720, fps=30.0, pix_fmt="yuv420p",
                        rotation=0)
AUDIO = AudioStreamInfo(codec="aac", sample_rate=48000, channels=2)
MP4_CODECS = (("video", "h264"), ("audio", "aac"))


def media(video: VideoStreamInfo | None = VIDEO, audio: AudioStreamInfo | None = AUDIO,
          codecs: tuple[tuple[str, str], ...] = MP4_CODECS) -> MediaInfo:
    return MediaInfo(format_name="mov,mp4,m4a,3gp,3g2,mj2", duration=20.0, size=1_000_000,
                     bit_rate=400_000, video=video, audio=audio, stream_count=len(codecs),
                     codecs=codecs)


def spec(*outputs: dict[str, Any]) -> JobSpec:
    return JobSpec.model_validate({
        "source": "tus:" + "a" * 32,
        "outputs": [{"index": i, **o} for i, o in enumerate(outputs)],
    })


def after(args: tuple[str, ...], flag: str) -> str:
    return args[args.index(flag) + 1]


LADDER = [{"resolution": 720, "bitrate": 2800}, {"resolution": 360, "bitrate": 800}]


def test_advanced_dash_is_one_decode_split_to_every_rendition_and_one_dash_muxer() -> None:
    plan = plan_job(spec({"kind": "advanced_dash", "renditions": LADDER, "segment_duration": 4}),
                    media(), threads=2)
    (command,) = plan.commands
    args = command.output_args
    # Every rendition keeps the source's display aspect ratio (the dash muxer demands one).
    assert after(args, "-filter_complex") == (
        "[0:v:0]split=2[s0][s1];[0:a:0]asplit=1[a0];"
        "[s0]scale=1280:720,setdar=1280/720,format=yuv420p[v0];"
        "[s1]scale=640:360,setdar=1280/720,format=yuv420p[v1]")
    assert args[-17:] == (
        "-f", "dash", "-dash_segment_type", "mp4", "-seg_duration", "4",
        "-use_template", "1", "-use_timeline", "1",
        "-adaptation_sets", "id=0,streams=v id=1,streams=a",
        "-init_seg_name", "init-$RepresentationID$.$ext$",
        "-media_seg_name", "chunk-$RepresentationID$-$Number%05d$.$ext$",
        "out0/playlist.mpd",
    )
    assert "-hls_playlist" not in args
    # Keyframes on every segment boundary, in every rendition, so the ladder switches cleanly.
    assert after(args, "-force_key_frames:v:0") == after(args, "-force_key_frames:v:1") == (
        "expr:gte(t,n_forced*4)")
    (output,) = plan.outputs
    assert (output.main_file, output.segment_duration, output.separate_audio) == (
        "out0/playlist.mpd", 4, True)
    assert [(r.width, r.height) for r in output.renditions] == [(1280, 720), (640, 360)]
    assert (output.video_codec, output.audio_codec, output.hls_master) == ("libx264", "aac", None)


def test_create_m3u8_playlist_adds_an_hls_master_named_after_the_mpd() -> None:
    plan = plan_job(spec({"kind": "advanced_dash", "renditions": LADDER,
                          "playlist_name": "index.mpd", "create_m3u8_playlist": True}),
                    media(), threads=2)
    args = plan.commands[0].output_args
    assert args[-5:] == ("-hls_playlist", "1", "-hls_master_name", "index.m3u8",
                         "out0/index.mpd")
    assert plan.outputs[0].hls_master == "index.m3u8"


def test_a_silent_source_gets_a_video_only_adaptation_set() -> None:
    plan = plan_job(spec({"kind": "advanced_dash", "renditions": LADDER}),
                    media(audio=None, codecs=(("video", "h264"),)), threads=2)
    args = plan.commands[0].output_args
    assert after(args, "-adaptation_sets") == "id=0,streams=v"
    assert not plan.outputs[0].has_audio and not plan.outputs[0].separate_audio


def test_webm_dash_uses_vp9_opus_and_webm_segments() -> None:
    plan = plan_job(spec({"kind": "webm_dash", "renditions": [{"resolution": 360, "quality": 33}]}),
                    media(), threads=2)
    args = plan.commands[0].output_args
    assert after(args, "-c:v:0") == "libvpx-vp9" and after(args, "-c:a:0") == "libopus"
    assert after(args, "-dash_segment_type") == "webm"
    # x264-only options would be ignored by libvpx; only the forced keyframes are given.
    assert "-sc_threshold:v:0" not in args and "-flags:v:0" not in args
    assert after(args, "-force_key_frames:v:0") == "expr:gte(t,n_forced*9)"
    assert plan.outputs[0].video_codec == "libvpx-vp9"


def test_hls_audio_is_an_audio_only_hls_muxer() -> None:
    plan = plan_job(spec({"kind": "hls_audio", "segment_duration": 6,
                          "renditions": [{"audio_bitrate": 96, "audio_channels": 1}]}),
                    media(), threads=2)
    args = plan.commands[0].output_args
    assert after(args, "-filter_complex") == "[0:a:0]asplit=1[a0]"
    assert "-c:v:0" not in args
    assert args[args.index("-c:a:0"):] == (
        "-c:a:0", "aac", "-b:a:0", "96k", "-ar:a:0", "48000", "-ac:a:0", "1",
        "-map_metadata", "-1", "-map_chapters", "-1",
        "-f", "hls", "-hls_time", "6", "-hls_playlist_type", "vod",
        "-hls_segment_type", "mpegts", "-hls_segment_filename", "out0/%v/segment_%05d.ts",
        "-master_pl_name", "playlist.m3u8", "-var_stream_map", "a:0,name:audio",
        "out0/%v/chunklist.m3u8",
    )
    (output,) = plan.outputs
    assert (output.video_codec, output.audio_codec, output.audio_layout) == (None, "aac",
                                                                             (48000, 1))
    assert output.main_file == "out0/playlist.m3u8"


def test_hls_audio_needs_a_source_with_sound() -> None:
    with pytest.raises(InputRejected):
        plan_job(spec({"kind": "hls_audio", "renditions": [{}]}), media(audio=None), threads=1)


def test_dash_and_mp4_share_one_decode() -> None:
    plan = plan_job(spec({"kind": "mp4", "renditions": [{"resolution": 360}]},
                         {"kind": "advanced_dash", "renditions": LADDER},
                         {"kind": "hls_audio", "renditions": [{}]}), media(), threads=2)
    (command,) = plan.commands
    assert after(command.output_args, "-filter_complex").startswith(
        "[0:v:0]split=3[s0][s1][s2];[0:a:0]asplit=3[a0][a1][a2];")
    assert command.output_dirs == ("out0", "out1", "out2")


# ------------------------------------------------------------------ repack


def test_a_repack_is_a_stream_copy_of_every_kept_stream() -> None:
    plan = plan_job(spec({"kind": "repack"}), media(), threads=2)
    (command,) = plan.commands
    assert command.output_args == (
        "-map", "0:V?", "-map", "0:a?", "-map", "0:s?", "-c", "copy",
        "-map_metadata", "0", "-map_chapters", "0",
        "-movflags", "+faststart", "-f", "mp4", "out0/video.mp4",
    )
    assert command.expected_duration == 20.0 and command.output_dirs == ("out0",)
    (output,) = plan.outputs
    assert output.main_file == "out0/video.mp4" and output.copied_streams == MP4_CODECS


def test_repack_flags_drop_streams_and_metadata() -> None:
    codecs = (("video", "h264"), ("audio", "aac"), ("subtitle", "subrip"))
    plan = plan_job(spec({"kind": "repack", "repack": {
        "container": "mkv", "audio": False, "subtitles": False, "metadata": False}}),
        media(codecs=codecs), threads=2)
    assert plan.commands[0].output_args == (
        "-map", "0:V?", "-c", "copy", "-map_metadata", "-1", "-map_chapters", "-1",
        "-f", "matroska", "out0/video.mkv",
    )
    assert plan.outputs[0].copied_streams == (("video", "h264"),)
    assert not plan.outputs[0].has_audio


def test_repack_names_the_same_format_whatever_decoder_the_probe_named() -> None:
    plan = plan_job(spec({"kind": "repack", "repack": {"container": "ts"}}),
                    media(codecs=(("video", "h264"), ("audio", "mp3float"))), threads=1)
    assert plan.outputs[0].copied_streams == (("video", "h264"), ("audio", "mp3"))
    assert plan.commands[0].output_args[-3:] == ("-f", "mpegts", "out0/video.ts")


@pytest.mark.parametrize(("container", "codecs", "settings", "named"), [
    ("webm", MP4_CODECS, {}, "h264 video can't be put in webm"),
    ("webm", (("video", "vp9"), ("audio", "aac")), {}, "aac audio can't be put in webm"),
    ("mp4", (("video", "h264"), ("subtitle", "subrip")), {}, "set subtitles_copy to 0"),
    ("mp4", (("video", "theora"),), {}, "theora video"),
    ("ts", (("video", "vp9"),), {}, "vp9 video can't be put in ts"),
    ("mkv", (("video", "h264"), ("audio", "unknown")), {}, "unknown audio"),
    ("mp4", (("subtitle", "mov_text"),), {}, "none of the streams"),
    ("mp4", (("video", "h264"),), {"video": False}, "none of the streams"),
])
def test_a_repack_refuses_codecs_its_container_cannot_hold(
        container: str, codecs: tuple[tuple[str, str], ...], settings: dict[str, bool],
        named: str) -> None:
    job = spec({"kind": "repack", "repack": {"container": container, **settings}})
    with pytest.raises(InputRejected) as caught:
        plan_job(job, media(codecs=codecs), threads=1)
    assert named in caught.value.user_message and "format[0]" in caught.value.user_message


@pytest.mark.parametrize(("container", "codecs"), [
    ("webm", (("video", "vp9"), ("audio", "opus"), ("subtitle", "webvtt"))),
    ("mkv", (("video", "hevc"), ("audio", "flac"), ("subtitle", "subrip"))),
    ("mov", (("video", "prores"), ("audio", "pcm_s16le"))),
    ("mp4", (("video", "h264"), ("audio", "aac"), ("audio", "ac3"), ("subtitle", "mov_text"))),
])
def test_a_repack_accepts_codecs_that_fit(container: str,
                                          codecs: tuple[tuple[str, str], ...]) -> None:
    plan = plan_job(spec({"kind": "repack", "repack": {"container": container}}),
                    media(codecs=codecs), threads=1)
    assert plan.outputs[0].copied_streams == codecs
