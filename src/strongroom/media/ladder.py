"""Picture sizes, default bitrates, GOP lengths and encoder thread shares for renditions.

Sizing rule (documented for clients):

* ``resolution`` is the short side; the long side follows the source's displayed aspect ratio,
  so a portrait source stays portrait. It wins over ``width``/``height``.
* ``width`` or ``height`` alone: the other side keeps the aspect ratio.
* ``width`` and ``height`` together: exactly that size (the picture is scaled to fit it).
* Nothing: the source's displayed size.
* Every side is rounded to the nearest even number (4:2:0 needs it), and a computed size
  never goes above the source (no upscaling; an odd source side is rounded down). Only an
  exact ``width`` + ``height`` may upscale, because the client asked for that size.
"""

from __future__ import annotations

import math
from fractions import Fraction

from strongroom.media.jobspec import OutputSpec, Rendition, parse_framerate, parse_keyframe
from strongroom.media.output_kinds import DASH_KINDS
from strongroom.media.picture_rules import parse_aspect_ratio

# (short side in pixels, video kbps): used when a rendition gives neither quality nor bitrate.
# The first row whose short side is at least the rendition's short side applies.
DEFAULT_BITRATES: tuple[tuple[int, int], ...] = (
    (144, 200),
    (240, 400),
    (360, 800),
    (480, 1400),
    (540, 1800),
    (720, 2800),
    (1080, 5000),
    (1440, 8000),
    (2160, 14000),
    (4320, 40000),
)
DEFAULT_GOP_SECONDS = 2.0
FALLBACK_FPS = 30.0  # used only to size a GOP when the source's frame rate is unknown


def even(value: float) -> int:
    """Round ``value`` to the nearest even integer (halves up), at least 2."""
    return max(2, math.floor(value / 2 + 0.5) * 2)


def _within(value: float, source_side: int) -> int:
    """``even(value)`` but never above the source side (rounded down to even)."""
    return min(even(value), max(2, source_side - source_side % 2))


def fit_size(rendition: Rendition, source_width: int, source_height: int) -> tuple[int, int]:
    """Return the ``(width, height)`` to encode ``rendition`` at, per the module's sizing rule."""
    if rendition.resolution is not None:
        short = min(source_width, source_height)
        factor = Fraction(min(rendition.resolution, short), short)
    elif rendition.width is not None and rendition.height is not None:
        return rendition.width, rendition.height
    elif rendition.width is not None:
        factor = Fraction(min(rendition.width, source_width), source_width)
    elif rendition.height is not None:
        factor = Fraction(min(rendition.height, source_height), source_height)
    else:
        factor = Fraction(1)
    return (
        _within(float(source_width * factor), source_width),
        _within(float(source_height * factor), source_height),
    )


def default_bitrate(width: int, height: int) -> int:
    """Return the default video kbps for a picture of ``width`` x ``height``."""
    short = min(width, height)
    for ladder_short, kbps in DEFAULT_BITRATES:
        if short <= ladder_short:
            return kbps
    return DEFAULT_BITRATES[-1][1]


def output_fps(rendition: Rendition, source_fps: float) -> float:
    """The frame rate the rendition will have: its own ``framerate``, else the source's
    capped at ``framerate_limit``."""
    if rendition.framerate is not None:
        return float(parse_framerate(rendition.framerate))
    fps = source_fps if source_fps > 0 else FALLBACK_FPS
    if rendition.framerate_limit is not None:
        return min(fps, float(parse_framerate(rendition.framerate_limit)))
    return fps


def fps_filter(rendition: Rendition, source_fps: float) -> str | None:
    """The ``fps`` filter's rate for the rendition, or None to keep every source frame.

    ``framerate`` always applies; ``framerate_limit`` only when the source is faster (an
    unknown source rate is capped, to be safe).
    """
    if rendition.framerate is not None:
        return rendition.framerate
    limit = rendition.framerate_limit
    if limit is not None and not 0 < source_fps <= parse_framerate(limit):
        return limit
    return None


def gop_frames(rendition: Rendition, fps: float) -> int:
    """GOP length in frames: ``keyframe`` frames, or "Ns" x fps, default 2 s x fps."""
    if rendition.keyframe is None:
        return max(1, round(DEFAULT_GOP_SECONDS * fps))
    frames, seconds = parse_keyframe(rendition.keyframe)
    return frames if frames is not None else max(1, round((seconds or 0) * fps))


def split_encoder_threads(pixel_counts: list[int], cores: int) -> list[int]:
    """Share x264 threads between renditions encoded in one process.

    Every rendition gets one thread; the other ``cores - 1`` go to renditions in proportion to
    their pixel counts (largest remainder, earlier rendition first on ties). On 2 cores a
    4-rung ladder gets 2/1/1/1, the layout measured fastest (performance baseline T3);
    a single rendition gets all cores.
    """
    extra = max(0, cores - 1)
    total = sum(pixel_counts) or 1
    quotas = [Fraction(extra * count, total) for count in pixel_counts]
    shares = [int(quota) for quota in quotas]
    order = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - shares[i]), i))
    for i in order[: extra - sum(shares)]:
        shares[i] += 1
    return [1 + share for share in shares]


def display_aspect(
    output: OutputSpec, rendition: Rendition, source: tuple[int, int]
) -> tuple[int, int] | None:
    """The ``setdar`` of a rendition: its ``aspect_ratio``, or None for square pixels.

    ffmpeg's dash muxer refuses an adaptation set whose renditions differ in display aspect
    ratio, which even-pixel rounding causes (426x240 vs 256x144): DASH renditions all keep
    the source's (after ``rotate``), with near-square pixels.
    """
    if rendition.aspect_ratio is not None:
        ratio = parse_aspect_ratio(rendition.aspect_ratio)
        return ratio.numerator, ratio.denominator
    return source if output.kind in DASH_KINDS else None
