"""The WebVTT thumbnail index, the animated-WebP header reader and picture encoder options."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from strongroom.media.encoders import jpg_qscale, picture_options
from strongroom.media.errors import VerificationError
from strongroom.media.output_kinds import ImageFormat
from strongroom.media.picture_plan import PlannedPictures
from strongroom.media.progress import ProgressTracker
from strongroom.media.thumbnail_index import Cue, index_cues, parse_index, write_index
from strongroom.media.verify_pictures import webp_animation

SERIES = PlannedPictures(ImageFormat.PNG, 160, 90, 3, "thumb_%04d.png", 10.0)
SPRITE = PlannedPictures(ImageFormat.JPG, 160, 90, 5, "sprite_%04d.jpg", 10.0, columns=2, rows=2)


def test_it_indexes_a_series_and_ends_the_last_cue_with_the_clip() -> None:
    text = write_index(index_cues(SERIES, 3, 25.5))
    assert text == ("WEBVTT\n\n"
                    "00:00:00.000 --> 00:00:10.000\nthumb_0001.png\n\n"
                    "00:00:10.000 --> 00:00:20.000\nthumb_0002.png\n\n"
                    "00:00:20.000 --> 00:00:25.500\nthumb_0003.png\n")
    assert parse_index(text) == index_cues(SERIES, 3, 25.5)


def test_it_points_sprite_cues_at_cells_across_sheets() -> None:
    cues = index_cues(SPRITE, 5, 50.0)
    assert [(c.file, c.region) for c in cues] == [
        ("sprite_0001.jpg", (0, 0, 160, 90)), ("sprite_0001.jpg", (160, 0, 160, 90)),
        ("sprite_0001.jpg", (0, 90, 160, 90)), ("sprite_0001.jpg", (160, 90, 160, 90)),
        ("sprite_0002.jpg", (0, 0, 160, 90))]
    text = write_index(cues)
    assert "00:00:40.000 --> 00:00:50.000\nsprite_0002.jpg#xywh=0,0,160,90" in text
    assert parse_index(text) == cues


def test_it_writes_hours_and_milliseconds() -> None:
    cue = Cue(3725.25, 3735.0, "thumb_0001.png", None)
    assert "01:02:05.250 --> 01:02:15.000" in write_index([cue])


@pytest.mark.parametrize("text", [
    "",
    "WEBVT\n\n00:00:00.000 --> 00:00:01.000\na.png\n",
    "WEBVTT\n\n00:00:01.000 --> 00:00:00.500\na.png\n",
    "WEBVTT\n\n00:00:02.000 --> 00:00:03.000\na.png\n\n00:00:00.000 --> 00:00:01.000\nb.png\n",
    "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n../etc/passwd.png\n",
    "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nhttps://evil.example/a.png\n",
    "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\na.png#xywh=-1,0,2,2\n",
    "WEBVTT\n\n0:0:0.0 --> 00:00:01.000\na.png\n",
    "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\na.png\nextra\n",
])
def test_it_refuses_a_malformed_or_unsafe_index(text: str) -> None:
    with pytest.raises(VerificationError):
        parse_index(text)


def chunk(tag: bytes, body: bytes) -> bytes:
    return tag + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def webp(*chunks: bytes) -> bytes:
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def vp8x(flags: int, width: int, height: int) -> bytes:
    return chunk(b"VP8X", bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little")
                 + (height - 1).to_bytes(3, "little"))


def test_it_reads_an_animated_webps_canvas_and_frames(tmp_path: Path) -> None:
    path = tmp_path / "a.webp"
    path.write_bytes(webp(vp8x(0x02, 320, 180), chunk(b"ANIM", b"\0" * 6),
                          chunk(b"ANMF", b"x" * 17), chunk(b"ANMF", b"y" * 20)))
    assert webp_animation(path) == (320, 180, 2)


@pytest.mark.parametrize("data", [
    b"RIFF\0\0\0\0WAVE",
    webp(vp8x(0x00, 10, 10), chunk(b"ANMF", b"x")),  # no animation flag
    webp(vp8x(0x02, 10, 10)),  # no frames
    webp(chunk(b"VP8 ", b"x" * 10)),  # a still image
    webp(vp8x(0x02, 10, 10), chunk(b"ANMF", b"x"))[:-3],  # cut inside a chunk header
])
def test_it_refuses_what_is_not_an_animated_webp(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "a.webp"
    path.write_bytes(data)
    with pytest.raises(VerificationError):
        webp_animation(path)


@pytest.mark.parametrize("quality, qscale", [(None, 3), (100, 2), (1, 31), (50, 17)])
def test_jpg_quality_maps_onto_mjpeg_qscale(quality: int | None, qscale: int) -> None:
    assert jpg_qscale(quality) == qscale


def test_animated_webp_uses_the_animation_encoder() -> None:
    assert picture_options(ImageFormat.WEBP, None, animated=True) == [
        "-c:v:0", "libwebp_anim", "-quality:v:0", "75"]
    assert picture_options(ImageFormat.WEBP, 90, animated=False)[1] == "libwebp"


def test_the_progress_tracker_remembers_how_far_ffmpeg_got() -> None:
    tracker = ProgressTracker(2.0)
    tracker.feed("out_time_us=500000\nprogress=continue\nout_time_us=N/A\nprogress=continue\n")
    tracker.feed("out_time_us=1250000\nprogress=end\n")
    assert (tracker.position, tracker.percent) == (1.25, 100.0)
