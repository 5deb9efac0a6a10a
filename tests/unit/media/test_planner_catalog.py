"""Golden tests for the newer kinds: webm, mp3, flac, pictures and metadata."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom.media.errors import InputRejected
from strongroom.media.jobspec import JobSpec, OutputKind
from strongroom.media.output_kinds import ImageFormat
from strongroom.media.picture_plan import PlannedPictures
from strongroom.media.planner import InputFile, plan_job
from strongroom.media.probe import AudioStreamInfo, MediaInfo, VideoStreamInfo

VIDEO = VideoStreamInfo(codec="h264", width=1920, height=1080, fps=30.0, pix_fmt="yuv420p",
                        rotation=0)
STEREO = AudioStreamInfo(codec="aac", sample_rate=48000, channels=2)
NO_METADATA = ("-map_metadata", "-1", "-map_chapters", "-1")
HEAD = ("-filter_complex_threads", "1", "-filter_complex")


def media(video: VideoStreamInfo | None = VIDEO, audio: AudioStreamInfo | None = STEREO,
          duration: float = 60.0) -> MediaInfo:
    return MediaInfo(format_name="mov", duration=duration, size=1, bit_rate=None, video=video,
                     audio=audio, stream_count=2)


def spec(*outputs: dict[str, Any]) -> JobSpec:
    return JobSpec.model_validate({"source": "tus:" + "a" * 32,
                                   "outputs": [{"index": i, **o} for i, o in enumerate(outputs)]})


def test_it_decodes_once_for_webm_mp3_a_sprite_a_gif_and_flac() -> None:
    plan = plan_job(spec(
        {"kind": "webm", "renditions": [{"resolution": 360, "quality": 33}]},
        {"kind": "mp3", "renditions": [{"audio_bitrate": 192}]},
        {"kind": "thumbnails", "renditions": [{"width": 160}],
         "images": {"interval": 10, "sprite": True, "columns": 3, "image_format": "jpg"}},
        {"kind": "gif", "start_time": 5, "duration": 3, "renditions": [{"height": 90}]},
        {"kind": "flac", "start_time": 5, "duration": 3, "renditions": [{}]},
    ), media(), threads=2)
    (command,) = plan.commands
    assert command.inputs == (InputFile("source", ("-threads", "1")),
                              InputFile("source", ("-threads", "1", "-ss", "5", "-t", "3")))
    assert command.output_args == (
        *HEAD,
        "[0:v:0]split=2[s0][s1];[0:a:0]asplit=2[a0][a1];[1:v:0]split=1[s2];[1:a:0]asplit=1[a2];"
        "[s0]scale=640:360,setsar=1,format=yuv420p[v0];"
        "[s1]fps=1/10:eof_action=pass,scale=160:90,setsar=1,format=yuvj420p,tile=3x2[v1];"
        "[s2]fps=10,scale=160:90,setsar=1,split[g2a][g2b];"
        "[g2a]palettegen=stats_mode=single[g2p];[g2b][g2p]paletteuse=new=1[v2]",
        # webm: VP9 constant quality, Opus.
        "-map", "[v0]", "-map", "[a0]",
        "-c:v:0", "libvpx-vp9", "-deadline:v:0", "good", "-cpu-used:v:0", "4",
        "-row-mt:v:0", "1", "-threads:v:0", "2", "-crf:v:0", "33", "-b:v:0", "0", "-g:v:0", "60",
        "-c:a:0", "libopus", "-b:a:0", "128k", "-ar:a:0", "48000", "-ac:a:0", "2",
        *NO_METADATA, "-f", "webm", "out0/video.webm",
        "-map", "[a1]", "-c:a:0", "libmp3lame", "-b:a:0", "192k", "-ar:a:0", "48000",
        "-ac:a:0", "2", *NO_METADATA, "-f", "mp3", "out1/audio.mp3",
        "-map", "[v1]", "-c:v:0", "mjpeg", "-q:v:0", "3", *NO_METADATA,
        "-fps_mode:v:0", "passthrough", "-start_number", "1", "-f", "image2",
        "out2/sprite_%04d.jpg",
        "-map", "[v2]", "-c:v:0", "gif", *NO_METADATA, "-loop", "0", "-f", "gif",
        "out3/animation.gif",
        # flac is lossless: no bitrate.
        "-map", "[a2]", "-c:a:0", "flac", "-ar:a:0", "48000", "-ac:a:0", "2", *NO_METADATA,
        "-f", "flac", "out4/audio.flac",
    )
    assert command.output_dirs == ("out0", "out1", "out2", "out3", "out4")
    assert [o.main_file for o in plan.outputs] == [
        "out0/video.webm", "out1/audio.mp3", "out2/thumbnails.vtt", "out3/animation.gif",
        "out4/audio.flac"]
    webm, mp3, sprite, gif, flac = plan.outputs
    assert (webm.video_codec, webm.audio_codec, webm.has_audio) == ("libvpx-vp9", "libopus", True)
    assert (mp3.video_codec, mp3.audio_codec, mp3.audio_layout) == (None, "libmp3lame",
                                                                    (48000, 2))
    assert sprite.pictures == PlannedPictures(ImageFormat.JPG, 160, 90, 6, "sprite_%04d.jpg",
                                              10.0, columns=3, rows=2)
    assert gif.pictures is not None and (gif.pictures.fps, gif.pictures.count) == (10.0, 30)
    assert flac.expected_duration == 3.0 and not sprite.has_audio


def test_it_plans_vp8_with_a_ceiling_and_vp9_with_a_capped_bitrate() -> None:
    plan = plan_job(spec(
        {"kind": "webm", "renditions": [{"resolution": 360, "quality": 20,
                                          "video_codec": "libvpx", "audio_codec": "libvorbis",
                                          "audio_sample_rate": 44100}]},
        {"kind": "webm", "renditions": [{"resolution": 240, "bitrate": 300}]},
    ), media(), threads=1)
    args = plan.commands[0].output_args
    vp8 = args[args.index("libvpx"):args.index("out0/video.webm")]
    assert vp8[:9] == ("libvpx", "-deadline:v:0", "good", "-cpu-used:v:0", "4",
                       "-threads:v:0", "1", "-crf:v:0", "20")
    assert vp8[9:11] == ("-b:v:0", "800k")  # the ladder's 360p rate as a ceiling
    assert "-c:a:0" in vp8 and vp8[vp8.index("-c:a:0") + 1] == "libvorbis"
    vp9 = args[args.index("out0/video.webm"):]
    start = vp9.index("-b:v:0")
    assert vp9[start:start + 6] == (
        "-b:v:0", "300k", "-maxrate:v:0", "300k", "-bufsize:v:0", "600k")


def test_a_thumbnail_seeks_in_its_own_command() -> None:
    plan = plan_job(spec(
        {"kind": "thumbnail", "start_time": 10, "renditions": [{"resolution": 180}],
         "images": {"time": 0.25, "image_format": "webp", "quality": 60}},
    ), media(), threads=2)
    (command,) = plan.commands
    assert command.inputs == (InputFile("source", ("-threads", "1", "-ss", "22.5")),)
    assert command.output_args == (
        *HEAD, "[0:v:0]scale=320:180,setsar=1,format=yuv420p[v0]", "-map", "[v0]",
        "-c:v:0", "libwebp", "-quality:v:0", "60", *NO_METADATA,
        "-frames:v:0", "1", "-update", "1", "-f", "image2", "out0/thumbnail.webp")
    assert command.output_dirs == ("out0",)
    assert plan.outputs[0].main_file == "out0/thumbnail.webp"


def test_a_frame_number_is_selected_exactly_after_the_main_command() -> None:
    plan = plan_job(spec(
        {"kind": "mp4", "renditions": [{"resolution": 360}]},
        {"kind": "thumbnail", "renditions": [{}], "images": {"frame_number": 90}},
    ), media(), threads=2)
    main, thumb = plan.commands
    assert "out0/video.mp4" in main.output_args and "out1" not in main.output_dirs
    assert thumb.inputs == (InputFile("source", ("-threads", "1")),)
    assert thumb.output_args[3] == (
        "[0:v:0]select='eq(n,90)',scale=1920:1080,setsar=1,format=rgb24[v0]")
    assert thumb.expected_duration == 60.0


def test_a_thumbnail_at_the_very_end_stays_two_frames_inside_the_clip() -> None:
    plan = plan_job(spec({"kind": "thumbnail", "renditions": [{}], "images": {"time": 1}}),
                    media(duration=10.0), threads=1)
    assert plan.commands[0].inputs[0].options == ("-threads", "1", "-ss", "9.933")


def test_metadata_needs_no_command_and_works_on_audio_only_sources() -> None:
    plan = plan_job(spec({"kind": "metadata"}, {"kind": "mp3", "renditions": [{}]}),
                    media(video=None), threads=1)
    (command,) = plan.commands
    assert "out0" not in command.output_dirs
    assert (plan.outputs[0].main_file, plan.outputs[0].source) == ("out0/metadata.json", "source")
    assert plan_job(spec({"kind": "metadata"}), media(video=None)).commands == ()


@pytest.mark.parametrize("output, info, message", [
    ({"kind": "thumbnails", "renditions": [{}]}, media(video=None), "no video"),
    ({"kind": "gif", "renditions": [{}]}, media(video=None), "no video"),
    ({"kind": "webm", "renditions": [{}]}, media(video=None), "no video"),
    ({"kind": "flac", "renditions": [{}]}, media(audio=None), "no audio"),
    ({"kind": "thumbnails", "renditions": [{}], "images": {"interval": 0.5}},
     media(duration=3600.0), "7200 thumbnails"),
    ({"kind": "thumbnails", "renditions": [{}], "images": {"sprite": True, "columns": 5}},
     media(), "wider than 8192"),
    ({"kind": "thumbnail", "renditions": [{}], "images": {"frame_number": 1800}},
     media(), r"format\[0\]\.frame_number is beyond the end"),
])
def test_it_refuses_what_the_source_cannot_give(output: dict[str, Any], info: MediaInfo,
                                                message: str) -> None:
    with pytest.raises(InputRejected, match=message):
        plan_job(spec(output), info, threads=1)


def test_a_silent_source_gives_a_webm_without_audio() -> None:
    plan = plan_job(spec({"kind": "webm", "renditions": [{"resolution": 240}]}),
                    media(audio=None), threads=1)
    assert "-c:a:0" not in plan.commands[0].output_args
    assert (plan.outputs[0].has_audio, plan.outputs[0].audio_codec) == (False, None)


def test_sprite_sheets_are_capped_in_height() -> None:
    plan = plan_job(spec({"kind": "thumbnails", "renditions": [{"width": 320}],
                          "images": {"interval": 1, "sprite": True, "columns": 10}}),
                    media(duration=3600.0), threads=1)
    pictures = plan.outputs[0].pictures
    assert pictures is not None
    assert (pictures.count, pictures.rows, pictures.sheets) == (3600, 45, 8)  # 45 x 180 px
    assert plan.outputs[0].kind is OutputKind.THUMBNAILS
