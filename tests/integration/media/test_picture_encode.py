"""Real encodes with the picture settings, read back with PyAV: aspect_ratio, rotate (with and
without a source display rotation), resize_mode crop, pix_format, deinterlace, framerate_limit
and audio_mute.

Orientation is checked on the pixels: the generated source is black with a white block in its
top-left quarter, so after a turn the block must sit in the matching corner.
"""

from __future__ import annotations

import io
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest

from strongroom.media.planner import FfmpegCommand, InputFile, plan_job
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


def make_source(runner: Runner, job_dir: Path, *video_options: str,
                input_options: tuple[str, ...] = ()) -> None:
    """A 2 s 320x240 clip at 30 fps: black, a white block top-left, a tone."""
    picture = ("color=black:size=320x240:rate=30:duration=2,"
               "drawbox=x=0:y=0:w=100:h=80:color=white:t=fill")
    command = FfmpegCommand(
        inputs=(InputFile(picture, ("-f", "lavfi")),
                InputFile("sine=duration=2:sample_rate=48000", ("-f", "lavfi"))),
        output_args=("-c:v", "libx264", "-preset", "ultrafast", *video_options, "-c:a", "aac",
                     "-f", "mp4", "made.mp4"),
        expected_duration=2.0)
    runner.generate(command, cwd=job_dir)
    if input_options:
        rotate = FfmpegCommand(inputs=(InputFile("made.mp4", input_options),),
                               output_args=("-c", "copy", "-f", "mp4", "turned.mp4"),
                               expected_duration=2.0)
        runner.run(rotate, cwd=job_dir)
        (job_dir / "turned.mp4").replace(job_dir / "made.mp4")
    (job_dir / "made.mp4").replace(job_dir / "source")


def first_frame(path: Path) -> av.VideoFrame:
    with av.open(str(path)) as container:
        return next(container.decode(video=0))


def bright_corner(frame: av.VideoFrame) -> str:
    """Which quarter ("tl", "tr", "bl", "br") of the picture is brightest."""
    plane, width, height = frame.planes[0], frame.width, frame.height
    data, stride = bytes(plane), plane.line_size
    sums = {}
    for name, (x0, y0) in {"tl": (0, 0), "tr": (width // 2, 0), "bl": (0, height // 2),
                           "br": (width // 2, height // 2)}.items():
        sums[name] = sum(data[y * stride + x] for y in range(y0, y0 + height // 2, 4)
                         for x in range(x0, x0 + width // 2, 4))
    return max(sums, key=lambda name: sums[name])


def stream_facts(path: Path) -> dict[str, Any]:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = list(container.decode(video))
        context = video.codec_context
        return {"size": (frames[0].width, frames[0].height), "pix_fmt": context.pix_fmt,
                "sar": context.sample_aspect_ratio, "profile": context.profile,
                "frames": len(frames), "rate": video.average_rate,
                "interlaced": any(f.interlaced_frame for f in frames),
                "audio": len(container.streams.audio)}


def test_the_generated_source_is_bright_top_left(runner: Runner, job_dir: Path) -> None:
    make_source(runner, job_dir)
    assert bright_corner(first_frame(job_dir / "source")) == "tl"


@pytest.mark.parametrize(("degrees", "size", "corner"), [
    (0, (160, 120), "tl"), (90, (120, 160), "tr"), (180, (160, 120), "br"),
    (270, (120, 160), "bl"),
])
def test_rotate_turns_the_picture_clockwise(runner: Runner, job_dir: Path, degrees: int,
                                            size: tuple[int, int], corner: str) -> None:
    make_source(runner, job_dir)
    (report,) = encode(runner, job_dir, {"output": "mp4", "resolution": 120, "rotate": degrees})
    assert (report.width, report.height) == size
    frame = first_frame(job_dir / "out0" / "video.mp4")
    assert (frame.width, frame.height) == size and bright_corner(frame) == corner


def test_rotate_adds_to_the_source_display_rotation(runner: Runner, job_dir: Path) -> None:
    # A phone clip shown turned 90 degrees counter-clockwise, then rotated 90 clockwise:
    # the two cancel out and the picture is upright and landscape again.
    make_source(runner, job_dir, input_options=("-display_rotation", "90"))
    assert runner.probe(job_dir / "source").video.rotation == 90  # type: ignore[union-attr]
    encode(runner, job_dir, {"output": "mp4", "resolution": 120, "rotate": 90})
    frame = first_frame(job_dir / "out0" / "video.mp4")
    assert (frame.width, frame.height) == (160, 120) and bright_corner(frame) == "tl"


def test_aspect_ratio_sets_the_display_aspect(runner: Runner, job_dir: Path) -> None:
    make_source(runner, job_dir)
    encode(runner, job_dir, {"output": "mp4", "resolution": 120, "aspect_ratio": "16:9"})
    facts = stream_facts(job_dir / "out0" / "video.mp4")
    assert facts["size"] == (160, 120)
    width, height = facts["size"]
    assert Fraction(width, height) * facts["sar"] == Fraction(16, 9)


def test_aspect_ratio_in_a_dash_ladder_applies_to_every_rendition(runner: Runner,
                                                                  job_dir: Path) -> None:
    make_source(runner, job_dir)
    encode(runner, job_dir, {"output": "advanced_dash", "segment_duration": 1, "stream": [
        {"resolution": 240, "aspect_ratio": "1.5"}, {"resolution": 120, "aspect_ratio": "1.5"}]})
    mpd = (job_dir / "out0" / "playlist.mpd").read_text()
    assert 'par="3:2"' in mpd


def test_crop_fills_an_exact_size_without_stretching(runner: Runner, job_dir: Path) -> None:
    make_source(runner, job_dir)
    encode(runner, job_dir,
           {"output": "mp4", "size": "160x160", "resize_mode": "crop"},
           {"output": "mp4", "size": "160x160"})
    cropped = stream_facts(job_dir / "out0" / "video.mp4")
    stretched = stream_facts(job_dir / "out1" / "video.mp4")
    assert cropped["size"] == stretched["size"] == (160, 160)
    assert cropped["sar"] in (None, Fraction(1, 1))
    # The white block is 100x80 of 320x240: scaled to cover 160 rows it is 67 px wide from
    # x=0, and cropping the middle 160 of 213 columns cuts 26 of them.
    frame = first_frame(job_dir / "out0" / "video.mp4")
    row = bytes(frame.planes[0])[20 * frame.planes[0].line_size:][:160]
    white = [x for x, luma in enumerate(row) if luma > 128]
    assert 36 <= len(white) <= 46 and white[0] == 0


@pytest.mark.parametrize(("fields", "pix_fmt", "profile"), [
    ({"pix_format": "yuv422p"}, "yuv422p", "High 4:2:2"),
    ({"pix_format": "yuv444p"}, "yuv444p", "High 4:4:4 Predictive"),
    ({"pix_format": "yuvj420p", "profile": "high"}, "yuvj420p", "High"),
    ({"video_codec": "libx265", "pix_format": "yuv420p10le"}, "yuv420p10le", "Main 10"),
    ({"video_codec": "libsvtav1", "pix_format": "yuv420p10le"}, "yuv420p10le", None),
])
def test_pix_format_reaches_the_file(runner: Runner, job_dir: Path, fields: dict[str, Any],
                                     pix_fmt: str, profile: str | None) -> None:
    make_source(runner, job_dir)
    encode(runner, job_dir, {"output": "mp4", "resolution": 120, **fields})
    facts = stream_facts(job_dir / "out0" / "video.mp4")
    assert facts["pix_fmt"] == pix_fmt
    if profile is not None:
        assert facts["profile"] == profile


def test_deinterlace_makes_progressive_frames(runner: Runner, job_dir: Path) -> None:
    make_source(runner, job_dir, "-flags", "+ildct+ilme", "-field_order", "tt")
    assert stream_facts(job_dir / "source")["interlaced"]
    encode(runner, job_dir, {"output": "mp4", "resolution": 120, "deinterlace": 1},
           {"output": "mp4", "resolution": 120})
    assert not stream_facts(job_dir / "out0" / "video.mp4")["interlaced"]
    assert stream_facts(job_dir / "out0" / "video.mp4")["frames"] == 60


@pytest.mark.parametrize(("limit", "rate", "frames"), [("15", 15, 30), ("60", 30, 60),
                                                        ("30000/1001", Fraction(30000, 1001),
                                                         60)])
def test_framerate_limit_caps_and_never_raises(runner: Runner, job_dir: Path, limit: str,
                                               rate: Fraction | int, frames: int) -> None:
    make_source(runner, job_dir)
    encode(runner, job_dir, {"output": "mp4", "resolution": 120, "framerate_limit": limit})
    facts = stream_facts(job_dir / "out0" / "video.mp4")
    assert facts["frames"] == frames and facts["rate"] == rate


def test_audio_mute_drops_the_sound(runner: Runner, job_dir: Path) -> None:
    make_source(runner, job_dir)
    reports = encode(runner, job_dir, {"output": "mp4", "resolution": 120, "audio_mute": 1},
                     {"output": "advanced_hls", "segment_duration": 1, "stream": [
                         {"resolution": 120, "audio_mute": 1},
                         {"resolution": 60, "audio_mute": "1"}]},
                     {"output": "mp3"})
    assert stream_facts(job_dir / "out0" / "video.mp4")["audio"] == 0
    assert reports[0].renditions[0]["audio_codec"] is None
    assert not any(f.path.startswith("audio/") for f in reports[1].files)
    assert reports[2].renditions[0]["audio_codec"] == "mp3"


@pytest.mark.parametrize(("fields", "pix_fmt"), [
    ({"pix_format": "yuvj420p"}, "yuvj420p"),
    ({"video_codec": "libx265", "pix_format": "yuv420p10le"}, "yuv420p10le"),
])
def test_pix_format_in_a_ladder(runner: Runner, job_dir: Path, fields: dict[str, Any],
                                pix_fmt: str) -> None:
    make_source(runner, job_dir)
    (report,) = encode(runner, job_dir, {
        "output": "advanced_hls", "fmp4": 1, "segment_duration": 1,
        "stream": [{"resolution": 240, **fields}, {"resolution": 120, **fields}]})
    media = (job_dir / "out0" / "video_2" / "chunklist.m3u8").read_text()
    init = next(line for line in media.splitlines() if line.startswith("#EXT-X-MAP"))
    data = (job_dir / "out0" / "video_2" / init.split('"')[1]).read_bytes() + \
        (job_dir / "out0" / "video_2" / "segment_00000.m4s").read_bytes()
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == pix_fmt
    assert len(report.renditions) == 2
