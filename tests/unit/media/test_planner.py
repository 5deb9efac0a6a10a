"""Golden tests: JobSpec + MediaInfo -> exact ffmpeg argument tuples."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom.media.errors import InputRejected
from strongroom.media.jobspec import JobSpec, OutputKind
from strongroom.media.planner import InputFile, PlannedRendition, plan_job
from strongroom.media.probe import AudioStreamInfo, MediaInfo, VideoStreamInfo

LANDSCAPE = VideoStreamInfo(codec="h264", width=1920, height=1080, fps=30.0,
                            pix_fmt="yuv420p", rotation=0)
STEREO = AudioStreamInfo(codec="aac", sample_rate=48000, channels=2)


def media(video: VideoStreamInfo | None = LANDSCAPE, audio: AudioStreamInfo | None = STEREO,
          duration: float = 60.0) -> MediaInfo:
    return MediaInfo(format_name="mov,mp4,m4a,3gp,3g2,mj2", duration=duration,
                     size=10_000_000, bit_rate=1_333_333, video=video, audio=audio,
                     stream_count=2)


def spec(*outputs: dict[str, Any]) -> JobSpec:
    return JobSpec.model_validate({
        "source": "tus:" + "a" * 32,
        "outputs": [{"index": i, **o} for i, o in enumerate(outputs)],
    })


HEAD = ("-filter_complex_threads", "1", "-filter_complex")
NO_METADATA = ("-map_metadata", "-1", "-map_chapters", "-1")
MP4_TAIL = ("-movflags", "+faststart", "-f", "mp4", "out0/video.mp4")


def audio_args(position: int, kbps: int) -> tuple[str, ...]:
    p = f"a:{position}"
    return (f"-c:{p}", "aac", f"-b:{p}", f"{kbps}k", f"-ar:{p}", "48000", f"-ac:{p}", "2")


def hls_tail(segment: int, stream_map: str) -> tuple[str, ...]:
    return ("-f", "hls", "-hls_time", str(segment), "-hls_playlist_type", "vod",
            "-hls_flags", "independent_segments", "-hls_segment_type", "mpegts",
            "-hls_segment_filename", "out0/%v/segment_%05d.ts",
            "-master_pl_name", "playlist.m3u8", "-var_stream_map", stream_map,
            "out0/%v/chunklist.m3u8")


def test_it_plans_a_single_mp4_with_crf() -> None:
    plan = plan_job(spec({"kind": "mp4", "renditions": [{"resolution": 720, "quality": 23}]}),
                    media(), threads=2)
    (command,) = plan.commands
    assert command.inputs == (InputFile("source", ("-threads", "1")),)
    assert command.output_args == (
        *HEAD,
        "[0:v:0]split=1[s0];[0:a:0]asplit=1[a0];[s0]scale=1280:720,setsar=1,format=yuv420p[v0]",
        "-map", "[v0]", "-map", "[a0]",
        "-c:v:0", "libx264", "-preset:v:0", "veryfast", "-profile:v:0", "main",
        "-threads:v:0", "2", "-crf:v:0", "23", "-g:v:0", "60",
        *audio_args(0, 128), *NO_METADATA, *MP4_TAIL,
    )
    assert command.expected_duration == 60.0
    assert command.output_dirs == ("out0",)
    (output,) = plan.outputs
    assert (output.kind, output.directory, output.main_file) == (
        OutputKind.MP4, "out0", "out0/video.mp4")
    assert output.renditions == (PlannedRendition(1280, 720, None, 23, 128),)
    assert output.has_audio and output.segment_duration is None


def test_it_plans_a_three_rung_hls_ladder_with_separate_audio() -> None:
    plan = plan_job(spec({"kind": "advanced_hls", "segment_duration": 6, "renditions": [
        {"resolution": 1080, "bitrate": 5000}, {"resolution": 720, "bitrate": 2800},
        {"resolution": 360, "bitrate": 800, "audio_bitrate": 96}]}), media(), threads=2)

    def video(n: int, threads: int, kbps: int) -> tuple[str, ...]:
        s = f"v:{n}"
        return (f"-c:{s}", "libx264", f"-preset:{s}", "veryfast", f"-profile:{s}", "main",
                f"-threads:{s}", str(threads), f"-b:{s}", f"{kbps}k",
                f"-maxrate:{s}", f"{kbps}k", f"-bufsize:{s}", f"{2 * kbps}k", f"-g:{s}", "60",
                f"-sc_threshold:{s}", "0", f"-flags:{s}", "+cgop",
                f"-force_key_frames:{s}", "expr:gte(t,n_forced*6)")

    assert plan.commands[0].output_args == (
        *HEAD,
        "[0:v:0]split=3[s0][s1][s2];[0:a:0]asplit=1[a0];"
        "[s0]scale=1920:1080,setsar=1,format=yuv420p[v0];"
        "[s1]scale=1280:720,setsar=1,format=yuv420p[v1];"
        "[s2]scale=640:360,setsar=1,format=yuv420p[v2]",
        "-map", "[v0]", "-map", "[v1]", "-map", "[v2]", "-map", "[a0]",
        *video(0, 2, 5000), *video(1, 1, 2800), *video(2, 1, 800),
        # One shared audio rendition at the best requested bitrate.
        *audio_args(0, 128), *NO_METADATA,
        *hls_tail(6, "v:0,agroup:audio,name:video_1 v:1,agroup:audio,name:video_2 "
                     "v:2,agroup:audio,name:video_3 a:0,agroup:audio,name:audio"),
    )
    (output,) = plan.outputs
    assert output.main_file == "out0/playlist.m3u8"
    assert output.separate_audio and output.segment_duration == 6
    assert output.variant_dirs() == ("out0/video_1", "out0/video_2", "out0/video_3")


def test_it_muxes_audio_into_each_hls_variant_when_not_separate() -> None:
    plan = plan_job(spec({"kind": "advanced_hls", "separate_audio": False, "renditions": [
        {"resolution": 720, "bitrate": 2800},
        {"resolution": 360, "audio_bitrate": 64, "profile": "baseline"}]}), media(), threads=2)
    assert plan.commands[0].output_args == (
        *HEAD,
        "[0:v:0]split=2[s0][s1];[0:a:0]asplit=2[a0][a1];"
        "[s0]scale=1280:720,setsar=1,format=yuv420p[v0];"
        "[s1]scale=640:360,setsar=1,format=yuv420p[v1]",
        "-map", "[v0]", "-map", "[v1]", "-map", "[a0]", "-map", "[a1]",
        "-c:v:0", "libx264", "-preset:v:0", "veryfast", "-profile:v:0", "main",
        "-threads:v:0", "2", "-b:v:0", "2800k", "-maxrate:v:0", "2800k",
        "-bufsize:v:0", "5600k", "-g:v:0", "60", "-sc_threshold:v:0", "0",
        "-flags:v:0", "+cgop", "-force_key_frames:v:0", "expr:gte(t,n_forced*9)",
        # No quality or bitrate: 360p takes 800 kbps from the default ladder.
        "-c:v:1", "libx264", "-preset:v:1", "veryfast", "-profile:v:1", "baseline",
        "-threads:v:1", "1", "-b:v:1", "800k", "-maxrate:v:1", "800k",
        "-bufsize:v:1", "1600k", "-g:v:1", "60", "-sc_threshold:v:1", "0",
        "-flags:v:1", "+cgop", "-force_key_frames:v:1", "expr:gte(t,n_forced*9)",
        *audio_args(0, 128), *audio_args(1, 64), *NO_METADATA,
        *hls_tail(9, "v:0,a:0,name:video_1 v:1,a:1,name:video_2"),
    )
    assert not plan.outputs[0].separate_audio


def test_it_clips_on_the_input_with_ss_and_t() -> None:
    plan = plan_job(spec({"kind": "mp4", "start_time": 10, "duration": 5.5, "renditions": [
        {"height": 360, "bitrate": 800, "keyframe": "3s"}]}), media(), threads=2)
    (command,) = plan.commands
    assert command.inputs == (InputFile("source", ("-threads", "1", "-ss", "10", "-t", "5.5")),)
    assert command.output_args == (
        *HEAD,
        "[0:v:0]split=1[s0];[0:a:0]asplit=1[a0];[s0]scale=640:360,setsar=1,format=yuv420p[v0]",
        "-map", "[v0]", "-map", "[a0]",
        "-c:v:0", "libx264", "-preset:v:0", "veryfast", "-profile:v:0", "main",
        "-threads:v:0", "2", "-b:v:0", "800k", "-maxrate:v:0", "800k", "-bufsize:v:0", "1600k",
        "-g:v:0", "90", *audio_args(0, 128), *NO_METADATA, *MP4_TAIL,
    )
    assert command.expected_duration == 5.5
    assert plan.outputs[0].expected_duration == 5.5


def test_it_keeps_a_rotated_source_portrait() -> None:
    rotated = VideoStreamInfo(codec="h264", width=1920, height=1080, fps=29.97,
                              pix_fmt="yuv420p", rotation=90)
    plan = plan_job(spec({"kind": "mp4", "renditions": [{"resolution": 720}]}),
                    media(video=rotated), threads=2)
    assert plan.commands[0].output_args == (
        *HEAD,
        "[0:v:0]split=1[s0];[0:a:0]asplit=1[a0];[s0]scale=720:1280,setsar=1,format=yuv420p[v0]",
        "-map", "[v0]", "-map", "[a0]",
        "-c:v:0", "libx264", "-preset:v:0", "veryfast", "-profile:v:0", "main",
        "-threads:v:0", "2", "-b:v:0", "2800k", "-maxrate:v:0", "2800k",
        "-bufsize:v:0", "5600k", "-g:v:0", "60", *audio_args(0, 128), *NO_METADATA, *MP4_TAIL,
    )


def test_it_plans_no_audio_for_a_silent_source() -> None:
    plan = plan_job(spec({"kind": "advanced_hls", "renditions": [
        {"resolution": 480, "quality": 24}]}), media(audio=None), threads=2)
    assert plan.commands[0].output_args == (
        *HEAD,
        "[0:v:0]split=1[s0];[s0]scale=854:480,setsar=1,format=yuv420p[v0]",
        "-map", "[v0]",
        "-c:v:0", "libx264", "-preset:v:0", "veryfast", "-profile:v:0", "main",
        "-threads:v:0", "2", "-crf:v:0", "24", "-g:v:0", "60", "-sc_threshold:v:0", "0",
        "-flags:v:0", "+cgop", "-force_key_frames:v:0", "expr:gte(t,n_forced*9)",
        *NO_METADATA, *hls_tail(9, "v:0,name:video_1"),
    )
    assert not plan.outputs[0].has_audio and not plan.outputs[0].separate_audio


def test_it_caps_crf_with_maxrate_when_both_quality_and_bitrate_are_given() -> None:
    plan = plan_job(spec({"kind": "mp4", "renditions": [
        {"width": 1280, "height": 720, "quality": 21, "bitrate": 3000, "framerate": "25",
         "keyframe": "50"}]}), media(), threads=2)
    assert plan.commands[0].output_args == (
        *HEAD,
        "[0:v:0]split=1[s0];[0:a:0]asplit=1[a0];"
        "[s0]fps=25,scale=1280:720,setsar=1,format=yuv420p[v0]",
        "-map", "[v0]", "-map", "[a0]",
        "-c:v:0", "libx264", "-preset:v:0", "veryfast", "-profile:v:0", "main",
        "-threads:v:0", "2", "-crf:v:0", "21", "-maxrate:v:0", "3000k", "-bufsize:v:0", "6000k",
        "-g:v:0", "50", *audio_args(0, 128), *NO_METADATA, *MP4_TAIL,
    )
    assert plan.outputs[0].renditions == (PlannedRendition(1280, 720, 3000, 21, 128),)


def test_it_decodes_once_per_clip_window_across_outputs() -> None:
    plan = plan_job(spec(
        {"kind": "mp4", "renditions": [{"resolution": 360}]},
        {"kind": "mp4", "start_time": 5, "renditions": [{"resolution": 240}]},
        {"kind": "advanced_hls", "renditions": [{"resolution": 720}, {"resolution": 480}]},
    ), media(), source_path="in.mkv", threads=4)
    (command,) = plan.commands
    assert command.inputs == (InputFile("in.mkv", ("-threads", "1")),
                              InputFile("in.mkv", ("-threads", "1", "-ss", "5")))
    graph = command.output_args[3]
    assert graph.startswith("[0:v:0]split=3[s0][s2][s3];[0:a:0]asplit=2[a0][a2];"
                            "[1:v:0]split=1[s1];[1:a:0]asplit=1[a1];")
    assert command.output_args.count("-f") == 3
    assert command.expected_duration == 60.0
    assert [o.expected_duration for o in plan.outputs] == [60.0, 55.0, 60.0]
    assert command.output_dirs == ("out0", "out1", "out2")
    assert [o.main_file for o in plan.outputs] == [
        "out0/video.mp4", "out1/video.mp4", "out2/playlist.m3u8"]


def test_it_never_upscales_a_small_source() -> None:
    small = VideoStreamInfo(codec="h264", width=640, height=360, fps=25.0, pix_fmt=None,
                            rotation=0)
    plan = plan_job(spec({"kind": "mp4", "renditions": [{"resolution": 1080}]}),
                    media(video=small), threads=1)
    rendition = plan.outputs[0].renditions[0]
    assert (rendition.width, rendition.height) == (640, 360)


def test_it_rejects_a_source_without_video() -> None:
    with pytest.raises(InputRejected, match="no video"):
        plan_job(spec({"kind": "mp4", "renditions": [{}]}), media(video=None))


def test_it_rejects_a_clip_that_starts_after_the_end() -> None:
    with pytest.raises(InputRejected, match=r"format\[0\]\.start_time"):
        plan_job(spec({"kind": "mp4", "start_time": 60, "renditions": [{}]}), media())


def test_it_trims_the_expected_duration_to_what_the_source_has() -> None:
    plan = plan_job(spec({"kind": "mp4", "start_time": 50, "duration": 30, "renditions": [{}]}),
                    media(), threads=1)
    assert plan.outputs[0].expected_duration == 10.0


def test_it_uses_the_cpu_count_when_threads_is_not_given() -> None:
    plan = plan_job(spec({"kind": "mp4", "renditions": [{}]}), media())
    args = plan.commands[0].output_args
    assert int(args[args.index("-threads:v:0") + 1]) >= 1
