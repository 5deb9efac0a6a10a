"""Real encodes of the newer output kinds (webm, mp3, flac, pictures, metadata) of a tiny clip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from strongroom.media.allowlists import InputPolicy
from strongroom.media.errors import VerificationError
from strongroom.media.planner import JobPlan, plan_job
from strongroom.media.qencode import parse_start_encode2_query
from strongroom.media.runner import Runner
from strongroom.media.thumbnail_index import parse_index
from strongroom.media.verify import OutputReport, verify_output
from strongroom.media.verify_pictures import webp_animation

pytestmark = pytest.mark.integration


def plan(runner: Runner, job_dir: Path, *formats: dict[str, Any]) -> JobPlan:
    spec = parse_start_encode2_query(json.dumps(
        {"query": {"source": "tus:" + "c" * 32, "format": list(formats)}}))
    return plan_job(spec, runner.probe(job_dir / "source"), threads=2)


def encode(runner: Runner, job_dir: Path, *formats: dict[str, Any]) -> list[OutputReport]:
    job = plan(runner, job_dir, *formats)
    for command in job.commands:
        runner.run(command, cwd=job_dir)
    return [verify_output(runner, output, job_dir) for output in job.outputs]


def streams(runner: Runner, path: Path) -> list[tuple[Any, ...]]:
    document = runner.probe_json(path, policy=InputPolicy.OWN_OUTPUT)
    return [(s["codec_type"], s["codec_name"], s.get("width"), s.get("height"),
             s.get("sample_rate"), s.get("channels")) for s in document["streams"]]


def test_it_makes_webm_mp3_flac_and_a_sprite_from_one_decode(runner: Runner,
                                                              job_dir: Path) -> None:
    formats = [
        {"output": "webm", "resolution": 120, "quality": 36, "tag": "web"},
        {"output": "mp3", "audio_bitrate": "96", "audio_sample_rate": 44100},
        {"output": "flac", "audio_channels_number": 1},
        {"output": "thumbnails", "interval": "0.5", "sprite": 1, "columns": 2, "width": 80,
         "image_format": "jpg"},
    ]
    assert len(plan(runner, job_dir, *formats).commands) == 1
    webm, mp3, flac, sprite = encode(runner, job_dir, *formats)
    out = job_dir
    assert (webm.main_file, webm.width, webm.height) == ("video.webm", 160, 120)
    assert streams(runner, out / "out0" / "video.webm") == [
        ("video", "vp9", 160, 120, None, None), ("audio", "opus", None, None, "48000", 2)]
    assert webm.renditions[0]["video_codec"] == "vp9" and webm.duration == pytest.approx(2, 0.25)
    assert streams(runner, out / "out1" / "audio.mp3") == [
        ("audio", "mp3float", None, None, "44100", 2)]
    assert (mp3.main_file, mp3.width, mp3.renditions[0]["audio_codec"]) == ("audio.mp3", 0, "mp3")
    assert 80 <= mp3.bitrate <= 110
    assert streams(runner, out / "out2" / "audio.flac") == [
        ("audio", "flac", None, None, "48000", 1)]
    assert flac.main_file == "audio.flac"
    # 4 thumbnails (0, .5, 1, 1.5 s) of 80x60 in 2x2 cells: one 160x120 sheet.
    assert sprite.main_file == "thumbnails.vtt"
    assert [f.path for f in sprite.files] == ["sprite_0001.jpg", "thumbnails.vtt"]
    assert streams(runner, out / "out3" / "sprite_0001.jpg") == [
        ("video", "mjpeg", 160, 120, None, None)]
    cues = parse_index((out / "out3" / "thumbnails.vtt").read_text())
    assert [(c.start, c.end, c.file, c.region) for c in cues] == [
        (0.0, 0.5, "sprite_0001.jpg", (0, 0, 80, 60)),
        (0.5, 1.0, "sprite_0001.jpg", (80, 0, 80, 60)),
        (1.0, 1.5, "sprite_0001.jpg", (0, 60, 80, 60)),
        (1.5, 2.0, "sprite_0001.jpg", (80, 60, 80, 60)),
    ]


def test_it_makes_a_vp8_vorbis_webm_of_a_clip_window(runner: Runner, job_dir: Path) -> None:
    (report,) = encode(runner, job_dir, {
        "output": "webm", "video_codec": "libvpx", "audio_codec": "libvorbis", "bitrate": 200,
        "size": "160x120", "start_time": 0.5, "duration": 1})
    assert streams(runner, job_dir / "out0" / "video.webm") == [
        ("video", "vp8", 160, 120, None, None), ("audio", "vorbis", None, None, "48000", 2)]
    assert report.duration == pytest.approx(1.0, abs=0.3)


def test_it_makes_a_numbered_png_series_with_its_index(runner: Runner, job_dir: Path) -> None:
    (report,) = encode(runner, job_dir, {"output": "thumbnails", "interval": 0.7,
                                         "resolution": 60})
    assert [f.path for f in report.files] == [
        "thumb_0001.png", "thumb_0002.png", "thumb_0003.png", "thumbnails.vtt"]
    assert (report.width, report.height, report.renditions[0]["pictures"]) == (80, 60, 3)
    text = (job_dir / "out0" / "thumbnails.vtt").read_text()
    assert text.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:00.700\nthumb_0001.png\n")
    assert streams(runner, job_dir / "out0" / "thumb_0003.png") == [
        ("video", "png", 80, 60, None, None)]


def test_it_takes_single_thumbnails_by_time_and_by_frame(runner: Runner, job_dir: Path) -> None:
    formats = [{"output": "thumbnail", "time": "0.25", "width": 100},
               {"output": "thumbnail", "frame_number": 45, "image_format": "webp",
                "quality": 50},
               {"output": "mp4", "resolution": 120}]
    job = plan(runner, job_dir, *formats)
    assert len(job.commands) == 3  # the mp4 decode, then one short seek per thumbnail
    reports = encode(runner, job_dir, *formats)
    assert [(r.main_file, r.width, r.height) for r in reports[:2]] == [
        ("thumbnail.png", 100, 76), ("thumbnail.webp", 320, 240)]
    assert streams(runner, job_dir / "out1" / "thumbnail.webp") == [
        ("video", "webp", 320, 240, None, None)]


def test_it_makes_an_animated_gif_and_an_animated_webp(runner: Runner, job_dir: Path) -> None:
    gif, webp = encode(runner, job_dir,
                       {"output": "gif", "resolution": 60},
                       {"output": "gif", "image_format": "webp", "framerate": "5",
                        "size": "64x48", "duration": 1})
    assert (gif.main_file, gif.width, gif.height, gif.renditions[0]["pictures"]) == (
        "animation.gif", 80, 60, 20)
    assert streams(runner, job_dir / "out0" / "animation.gif") == [
        ("video", "gif", 80, 60, None, None)]
    assert webp.main_file == "animation.webp"
    assert webp_animation(job_dir / "out1" / "animation.webp") == (64, 48, 5)


def test_it_writes_the_source_metadata_without_running_ffmpeg(runner: Runner,
                                                             job_dir: Path) -> None:
    job = plan(runner, job_dir, {"output": "metadata", "tag": "probe"})
    assert job.commands == ()
    (report,) = [verify_output(runner, output, job_dir) for output in job.outputs]
    assert (report.main_file, report.width, report.height) == ("metadata.json", 320, 240)
    document = json.loads((job_dir / "out0" / "metadata.json").read_text())
    assert float(document["format"]["duration"]) == pytest.approx(2.0, abs=0.1)
    assert [s["codec_name"] for s in document["streams"]] == ["h264", "aac"]
    assert str(job_dir) not in (job_dir / "out0" / "metadata.json").read_text()


def test_verification_catches_a_gap_in_a_thumbnail_series(runner: Runner,
                                                          job_dir: Path) -> None:
    job = plan(runner, job_dir, {"output": "thumbnails", "interval": 0.5, "resolution": 60})
    runner.run(job.commands[0], cwd=job_dir)
    (job_dir / "out0" / "thumb_0002.png").unlink()
    with pytest.raises(VerificationError, match="verification"):
        verify_output(runner, job.outputs[0], job_dir)


def test_verification_catches_a_truncated_mp3(runner: Runner, job_dir: Path) -> None:
    job = plan(runner, job_dir, {"output": "mp3"})
    runner.run(job.commands[0], cwd=job_dir)
    audio = job_dir / "out0" / "audio.mp3"
    audio.write_bytes(audio.read_bytes()[: audio.stat().st_size // 3])
    with pytest.raises(VerificationError):
        verify_output(runner, job.outputs[0], job_dir)


def test_verification_catches_a_picture_of_the_wrong_size(runner: Runner,
                                                         job_dir: Path) -> None:
    job = plan(runner, job_dir, {"output": "thumbnail", "resolution": 60})
    runner.run(job.commands[0], cwd=job_dir)
    other = plan(runner, job_dir, {"output": "thumbnail", "resolution": 120})
    with pytest.raises(VerificationError):
        verify_output(runner, other.outputs[0], job_dir)
