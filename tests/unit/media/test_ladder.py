"""Sizing, default bitrates, GOPs and thread shares."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom.media.jobspec import Rendition
from strongroom.media.ladder import (
    default_bitrate,
    even,
    fit_size,
    gop_frames,
    output_fps,
    split_encoder_threads,
)


def r(**fields: Any) -> Rendition:
    return Rendition.model_validate(fields)


@pytest.mark.parametrize("fields, source, expected", [
    ({"resolution": 720}, (1920, 1080), (1280, 720)),
    ({"resolution": 720}, (1080, 1920), (720, 1280)),          # portrait stays portrait
    ({"resolution": 1080}, (1280, 720), (1280, 720)),          # no upscale
    ({"resolution": 480}, (1920, 1080), (854, 480)),           # 853.3 -> even
    ({"width": 640}, (1920, 1080), (640, 360)),
    ({"height": 360}, (1920, 800), (864, 360)),
    ({"width": 4000}, (1920, 1080), (1920, 1080)),             # no upscale
    ({"width": 1920, "height": 1080}, (640, 360), (1920, 1080)),  # exact may upscale
    ({"width": 640, "height": 640}, (1920, 1080), (640, 640)),
    ({"resolution": 360, "width": 1920, "height": 1080}, (1920, 1080), (640, 360)),
    ({}, (1919, 1081), (1918, 1080)),  # odd source: down to even
    ({"resolution": 720}, (1281, 721), (1280, 720)),
])
def test_it_sizes_renditions(fields: dict[str, Any], source: tuple[int, int],
                             expected: tuple[int, int]) -> None:
    assert fit_size(r(**fields), *source) == expected


def test_it_always_returns_even_sides_of_at_least_two() -> None:
    assert [even(v) for v in (0, 1, 2.9, 3, 5)] == [2, 2, 2, 4, 6]


@pytest.mark.parametrize("size, kbps", [((256, 144), 200), ((640, 360), 800),
                                        ((1280, 720), 2800), ((720, 1280), 2800),
                                        ((1920, 1080), 5000), ((7680, 4320), 40000),
                                        ((7680, 7680), 40000)])
def test_it_picks_default_bitrates_by_short_side(size: tuple[int, int], kbps: int) -> None:
    assert default_bitrate(*size) == kbps


@pytest.mark.parametrize("fields, fps, frames", [
    ({}, 30.0, 60), ({}, 29.97, 60), ({"keyframe": "90"}, 30.0, 90),
    ({"keyframe": "3s"}, 25.0, 75), ({"keyframe": "0.5s"}, 24.0, 12),
])
def test_it_sizes_gops(fields: dict[str, Any], fps: float, frames: int) -> None:
    assert gop_frames(r(**fields), fps) == frames


def test_it_uses_the_rendition_frame_rate_then_the_source_then_a_fallback() -> None:
    assert output_fps(r(framerate="30000/1001"), 25.0) == pytest.approx(29.97, abs=0.001)
    assert output_fps(r(), 25.0) == 25.0
    assert output_fps(r(), 0.0) == 30.0


@pytest.mark.parametrize("pixels, cores, shares", [
    ([2_073_600, 921_600, 409_920, 230_400], 2, [2, 1, 1, 1]),   # baseline T3 layout
    ([2_073_600, 921_600, 409_920, 230_400], 8, [5, 3, 2, 1]),
    ([921_600], 2, [2]),
    ([921_600], 1, [1]),
    ([100, 100], 2, [2, 1]),                                     # ties: earlier first
    ([100, 100], 0, [1, 1]),
])
def test_it_shares_encoder_threads(pixels: list[int], cores: int, shares: list[int]) -> None:
    assert split_encoder_threads(pixels, cores) == shares
