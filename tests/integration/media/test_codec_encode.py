"""Real encodes with libx265, libsvtav1, video_codec_parameters and two_pass, read back with PyAV.

Each output is planned from a start_encode2 query, run with the real ffmpeg and verified by
``verify_output``; then the files are opened independently to check the codec, its tag and
what the tuned parameters promise (no B-frames when ``bf`` is 0).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import av
import pytest
from av.video.frame import PictureType

from strongroom.media.hls_playlist import parse_master, parse_media
from strongroom.media.planner import plan_job
from strongroom.media.qencode import parse_start_encode2_query
from strongroom.media.runner import Runner
from strongroom.media.verify import OutputReport, verify_output

pytestmark = pytest.mark.integration


def encode(runner: Runner, job_dir: Path, *formats: dict[str, Any]) -> list[OutputReport]:
    spec = parse_start_encode2_query(json.dumps(
        {"query": {"source": "tus:" + "c" * 32, "format": list(formats)}}))
    plan = plan_job(spec, runner.probe(job_dir / "source"), threads=2)
    for command in plan.commands:
        runner.run(command, cwd=job_dir)
    return [verify_output(runner, output, job_dir) for output in plan.outputs]


def video_stream(path: Path | bytes) -> tuple[str, str, int, int]:
    """(codec, codec tag, frames, frames that are B-frames) of the first video stream."""
    source = io.BytesIO(path) if isinstance(path, bytes) else str(path)
    with av.open(source) as container:
        stream = container.streams.video[0]
        kinds = [PictureType(frame.pict_type).name for frame in container.decode(stream)]
        return stream.codec_context.name, stream.codec_context.codec_tag, len(kinds), \
            kinds.count("B")


def test_libx265_in_an_mp4_is_hevc_tagged_hvc1(runner: Runner, job_dir: Path) -> None:
    (report,) = encode(runner, job_dir, {"output": "mp4", "video_codec": "libx265",
                                         "resolution": 120, "quality": 30})
    assert report.renditions[0]["video_codec"] == "hevc"
    codec, tag, frames, _ = video_stream(job_dir / "out0" / "video.mp4")
    assert (codec, tag, frames) == ("hevc", "hvc1", 60)


def test_libx265_in_hls_uses_fmp4_segments_and_says_hvc1(runner: Runner, job_dir: Path) -> None:
    (report,) = encode(runner, job_dir, {
        "output": "advanced_hls", "fmp4": 1, "segment_duration": 1,
        "stream": [{"video_codec": "libx265", "resolution": 240, "bitrate": 300},
                   {"video_codec": "libx265", "resolution": 120, "bitrate": 100}]})
    out = job_dir / "out0"
    master = parse_master((out / "playlist.m3u8").read_text())
    assert all(v.codecs and v.codecs.startswith("hvc1.") for v in master.variants if v.resolution)
    media = parse_media((out / "video_1" / "chunklist.m3u8").read_text())
    assert media.map_uri is not None
    init = (out / "video_1" / media.map_uri).read_bytes()
    codec, tag, frames, _ = video_stream(init + (out / "video_1" / media.segments[0][0])
                                         .read_bytes())
    assert (codec, tag) == ("hevc", "hvc1") and frames >= 25
    assert {r["video_codec"] for r in report.renditions} == {"hevc"}


@pytest.mark.parametrize(("output", "name", "fields"), [
    ("mp4", "video.mp4", {"quality": 40}),
    ("webm", "video.webm", {"bitrate": 200}),
    ("mp4", "video.mp4", {"quality": 45, "bitrate": 300}),
])
def test_libsvtav1_makes_av1_files(runner: Runner, job_dir: Path, output: str, name: str,
                                   fields: dict[str, Any]) -> None:
    (report,) = encode(runner, job_dir, {"output": output, "video_codec": "libsvtav1",
                                         "resolution": 120, **fields})
    assert report.renditions[0]["video_codec"] == "av1"
    codec, _, frames, _ = video_stream(job_dir / "out0" / name)
    assert codec in {"av1", "libdav1d"} and frames == 60


@pytest.mark.parametrize(("output", "codec", "name", "prefix"), [
    ("advanced_dash", "libsvtav1", "av1", "av01."), ("webm_dash", "libsvtav1", "av1", "av01."),
    ("advanced_dash", "libx265", "hevc", "hvc1."),
])
def test_new_codec_ladders_package_as_dash(runner: Runner, job_dir: Path, output: str,
                                           codec: str, name: str, prefix: str) -> None:
    (report,) = encode(runner, job_dir, {
        "output": output, "segment_duration": 1,
        "stream": [{"video_codec": codec, "resolution": 240, "bitrate": 300},
                   {"video_codec": codec, "resolution": 120, "bitrate": 100}]})
    assert {r["video_codec"] for r in report.renditions} == {name}
    assert f'codecs="{prefix}' in (job_dir / "out0" / "playlist.mpd").read_text()


@pytest.mark.parametrize(("codec", "params"), [
    ("libx264", {"preset": "ultrafast", "bf": 0, "refs": "1", "tune": "zerolatency"}),
    ("libx265", {"preset": "ultrafast", "bf": "0", "level": 31, "rc_lookahead": 5}),
])
def test_codec_parameters_reach_the_encoder(runner: Runner, job_dir: Path, codec: str,
                                            params: dict[str, Any]) -> None:
    encode(runner, job_dir, {"output": "mp4", "video_codec": codec, "resolution": 120,
                             "bitrate": 200, "video_codec_parameters": params})
    _, _, frames, b_frames = video_stream(job_dir / "out0" / "video.mp4")
    assert frames == 60 and b_frames == 0


def test_svtav1_parameters_reach_the_encoder(runner: Runner, job_dir: Path) -> None:
    encode(runner, job_dir, {"output": "mp4", "video_codec": "libsvtav1", "resolution": 120,
                             "quality": 50, "video_codec_parameters": {
                                 "preset": 12, "film_grain": 0, "fast_decode": 1}})
    assert video_stream(job_dir / "out0" / "video.mp4")[2] == 60


@pytest.mark.parametrize(("fmt", "name"), [
    ({"output": "mp4", "resolution": 120}, "video.mp4"),
    ({"output": "webm", "video_codec": "libvpx-vp9", "resolution": 120}, "video.webm"),
    ({"output": "mp4", "video_codec": "libx265", "resolution": 120}, "video.mp4"),
])
def test_two_pass_runs_a_first_pass_into_the_job_scratch_dir(
        runner: Runner, job_dir: Path, fmt: dict[str, Any], name: str) -> None:
    spec = parse_start_encode2_query(json.dumps({"query": {
        "source": "tus:" + "c" * 32, "format": [{**fmt, "bitrate": 150, "two_pass": 1}]}}))
    plan = plan_job(spec, runner.probe(job_dir / "source"), threads=2)
    first, second = plan.commands
    assert first.output_args[-3:] == ("-f", "null", "-")
    assert first.output_args.count("pcm_s16le") == 1  # the audio, not encoded
    assert second.output_args[-1] == f"out0/{name}"
    for command in plan.commands:
        runner.run(command, cwd=job_dir)
    (report,) = [verify_output(runner, output, job_dir) for output in plan.outputs]
    logs = [path.name for path in (job_dir / "passlog").iterdir()]
    assert logs and all(log.startswith("v0") for log in logs)
    assert not any(f.path.startswith("passlog") for f in report.files)
    assert video_stream(job_dir / "out0" / name)[2] == 60


def test_two_pass_inside_a_ladder_only_for_the_rendition_that_asks(runner: Runner,
                                                                   job_dir: Path) -> None:
    spec = parse_start_encode2_query(json.dumps({"query": {
        "source": "tus:" + "c" * 32, "format": [{
            "output": "advanced_hls", "segment_duration": 1,
            "stream": [{"resolution": 240, "bitrate": 300},
                       {"resolution": 120, "bitrate": 100, "two_pass": 1}]}]}}))
    plan = plan_job(spec, runner.probe(job_dir / "source"), threads=2)
    first = plan.commands[0].output_args
    assert first.count("-pass:v:1") == 1 and "-pass:v:0" not in first
    assert first[first.index("-c:v:0") + 1] == "wrapped_avframe"
    assert "passlog/v1" in first and "passlog/v0" not in first
    for command in plan.commands:
        runner.run(command, cwd=job_dir)
    (report,) = [verify_output(runner, output, job_dir) for output in plan.outputs]
    assert len(report.renditions) == 2


def test_two_pass_in_two_outputs_of_one_job(runner: Runner, job_dir: Path) -> None:
    reports = encode(runner, job_dir,
                     {"output": "mp4", "resolution": 120, "bitrate": 150, "two_pass": 1},
                     {"output": "webm", "resolution": 120, "bitrate": 150, "two_pass": "1"},
                     {"output": "mp4", "resolution": 120, "quality": 30})
    assert len(reports) == 3
    # ffmpeg numbers pass logs by stream index across all outputs: (video, audio), (video, ...
    assert sorted(path.name for path in (job_dir / "passlog").iterdir()
                  if path.suffix == ".log") == ["v0-0.log", "v1-2.log"]
