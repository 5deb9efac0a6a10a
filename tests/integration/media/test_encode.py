"""Probe, plan, run and verify real encodes of a tiny clip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from strongroom.media.errors import VerificationError
from strongroom.media.jobspec import OutputKind
from strongroom.media.planner import FfmpegCommand, InputFile, plan_job
from strongroom.media.qencode import parse_start_encode2_query
from strongroom.media.runner import Runner
from strongroom.media.verify import OutputReport, verify_output

pytestmark = pytest.mark.integration


def encode(runner: Runner, job_dir: Path, *formats: dict[str, Any]) -> list[OutputReport]:
    spec = parse_start_encode2_query(json.dumps(
        {"query": {"source": "tus:" + "c" * 32, "format": list(formats)}}))
    plan = plan_job(spec, runner.probe(job_dir / "source"), threads=2)
    progress: list[float] = []
    for command in plan.commands:
        runner.run(command, cwd=job_dir, on_progress=progress.append)
    assert progress[-1] == 100.0 and progress == sorted(progress)
    return [verify_output(runner, output, job_dir) for output in plan.outputs]


def test_it_probes_the_generated_clip(runner: Runner, clip: Path) -> None:
    info = runner.probe(clip)
    assert info.video is not None and info.audio is not None
    assert (info.video.codec, info.video.width, info.video.height) == ("h264", 320, 240)
    assert info.video.fps == 30.0 and info.video.rotation == 0
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert (info.audio.codec, info.audio.sample_rate) == ("aac", 48000)


def test_it_encodes_and_verifies_an_mp4(runner: Runner, job_dir: Path) -> None:
    (report,) = encode(runner, job_dir, {"output": "mp4", "resolution": 120, "quality": 30})
    data = report.to_dict()
    assert (data["kind"], data["main_file"], data["width"], data["height"]) == (
        "mp4", "video.mp4", 160, 120)
    assert data["duration"] == pytest.approx(2.0, abs=0.5)
    assert [f["path"] for f in data["files"]] == ["video.mp4"]
    assert data["files"][0]["size"] == (job_dir / "out0" / "video.mp4").stat().st_size
    assert data["renditions"] == [{"width": 160, "height": 120, "bitrate": data["bitrate"],
                                   "video_codec": "h264", "audio_codec": "aac"}]


def test_it_encodes_and_verifies_a_three_rung_hls_ladder_with_separate_audio(
        runner: Runner, job_dir: Path) -> None:
    (report,) = encode(runner, job_dir, {
        "output": "advanced_hls", "segment_duration": 1,
        "stream": [{"resolution": 240, "bitrate": 300}, {"resolution": 180, "bitrate": 200},
                   {"resolution": 120, "bitrate": 100}]})
    assert report.kind is OutputKind.ADVANCED_HLS and report.main_file == "playlist.m3u8"
    assert [(r["width"], r["height"]) for r in report.renditions] == [
        (320, 240), (240, 180), (160, 120)]
    paths = {f.path for f in report.files}
    assert {"playlist.m3u8", "video_1/chunklist.m3u8", "video_3/chunklist.m3u8",
            "audio/chunklist.m3u8"} <= paths
    assert any(p.startswith("audio/segment_") for p in paths)
    assert (report.width, report.height) == (320, 240)


def test_it_encodes_hls_with_audio_muxed_into_each_variant(runner: Runner,
                                                           job_dir: Path) -> None:
    (report,) = encode(runner, job_dir, {
        "output": "advanced_hls", "separate_audio": 0, "segment_duration": 1,
        "stream": [{"resolution": 240}, {"resolution": 120, "audio_bitrate": 64}]})
    assert not any(f.path.startswith("audio/") for f in report.files)
    assert len(report.renditions) == 2


def test_it_encodes_a_clip_window_and_several_outputs_in_one_run(runner: Runner,
                                                                 job_dir: Path) -> None:
    reports = encode(runner, job_dir,
                     {"output": "mp4", "start_time": 0.5, "duration": 1, "size": "160x120"},
                     {"output": "mp4", "resolution": 120})
    assert reports[0].duration == pytest.approx(1.0, abs=0.3)
    assert reports[1].duration == pytest.approx(2.0, abs=0.3)


def test_verification_catches_a_missing_segment(runner: Runner, job_dir: Path) -> None:
    spec = parse_start_encode2_query(json.dumps({"query": {
        "source": "tus:" + "c" * 32,
        "format": [{"output": "advanced_hls", "segment_duration": 1,
                    "stream": [{"resolution": 120}]}]}}))
    plan = plan_job(spec, runner.probe(job_dir / "source"), threads=1)
    runner.run(plan.commands[0], cwd=job_dir)
    (job_dir / "out0" / "video_1" / "segment_00001.ts").unlink()
    with pytest.raises(VerificationError):
        verify_output(runner, plan.outputs[0], job_dir)


def test_verification_catches_a_truncated_mp4(runner: Runner, job_dir: Path) -> None:
    spec = parse_start_encode2_query(json.dumps({"query": {
        "source": "tus:" + "c" * 32, "format": [{"output": "mp4", "resolution": 120}]}}))
    plan = plan_job(spec, runner.probe(job_dir / "source"), threads=1)
    runner.run(plan.commands[0], cwd=job_dir)
    video = job_dir / "out0" / "video.mp4"
    video.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    with pytest.raises(VerificationError):
        verify_output(runner, plan.outputs[0], job_dir)


def test_it_keeps_a_rotated_phone_clip_portrait(runner: Runner, job_dir: Path) -> None:
    # A phone clip: landscape pixels plus a 90 degree display matrix (stream copy keeps it).
    rotate = FfmpegCommand(inputs=(InputFile("source", ("-display_rotation", "90")),),
                           output_args=("-c", "copy", "-f", "mp4", "rotated.mp4"),
                           expected_duration=2.0)
    runner.run(rotate, cwd=job_dir)
    (job_dir / "rotated.mp4").replace(job_dir / "source")
    info = runner.probe(job_dir / "source")
    assert info.video is not None and info.video.rotation == 90
    (report,) = encode(runner, job_dir, {"output": "mp4", "resolution": 120})
    assert (report.width, report.height) == (120, 160)
