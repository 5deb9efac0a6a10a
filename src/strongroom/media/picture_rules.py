"""Picture settings of a video rendition: what each encoder accepts, and the filters they become.

* ``pix_format``: an allowlist per encoder (x264 8-bit 4:2:0/4:2:2/4:4:4, x265 and SVT-AV1 also
  10-bit 4:2:0, VP8/VP9 4:2:0 only); ladders (HLS/DASH) take 4:2:0 only, because players
  don't decode more. The encoder profile follows the pixel format where it must (x264 High
  4:2:2/4:4:4, x265 Main 10...); an explicit baseline/high profile with a non-4:2:0 format is
  refused rather than silently replaced.
* ``aspect_ratio`` ("16:9", "1.85"): the display aspect, written as ``setdar``; the pixels keep
  the size the sizing rule gives them.
* ``rotate`` 90/180/270 (clockwise) after the source's own display rotation, which ffmpeg
  applies on decode: ``transpose`` (or both flips for 180); the sizing rule sees the rotated
  picture.
* ``resize_mode`` crop: scale to cover the requested size, then crop the middle; it matters
  only for an exact width + height (other sizes keep the aspect ratio anyway).
* ``deinterlace``: ``bwdif`` on every frame, one output frame per frame.
* ``framerate_limit``: the source rate, capped (never raised); ``framerate`` wins.
"""

from __future__ import annotations

import re
from fractions import Fraction

DEFAULT_PIX_FORMAT = "yuv420p"
PIX_FORMATS: dict[str, tuple[str, ...]] = {
    "libx264": ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p"),
    "libx265": ("yuv420p", "yuv420p10le", "yuv422p", "yuv422p10le"),
    "libsvtav1": ("yuv420p", "yuv420p10le"),
    "libvpx-vp9": ("yuv420p",),
    "libvpx": ("yuv420p",),
}
ALL_PIX_FORMATS = tuple(sorted({fmt for formats in PIX_FORMATS.values() for fmt in formats}))
LADDER_PIX_FORMATS = frozenset({"yuv420p", "yuvj420p", "yuv420p10le"})
# Encoder profile a pixel format needs (None: the client's profile, or the encoder's default).
_X264_PROFILES = {"yuv422p": "high422", "yuvj422p": "high422", "yuv444p": "high444"}
_X265_PROFILES = {
    "yuv420p": "main",
    "yuv420p10le": "main10",
    "yuv422p": "main422-8",
    "yuv422p10le": "main422-10",
}
ROTATIONS = (0, 90, 180, 270)
ASPECT_RANGE = (Fraction(1, 10), Fraction(10))
_ASPECT = re.compile(r"^(\d{1,5}):(\d{1,5})$|^(\d{1,2}(\.\d{1,6})?)$")
# Fields a ladder's renditions must share: one orientation, shape, pixel format and sound.
LADDER_UNIFORM = ("rotate", "aspect_ratio", "pix_format", "audio_mute")


def parse_aspect_ratio(text: str) -> Fraction:
    """``"16:9"`` or ``"1.78"`` as a fraction between 1/10 and 10; ``ValueError`` otherwise."""
    found = _ASPECT.match(text)
    if found is None:
        raise ValueError('must be "<width>:<height>" such as "16:9", or a ratio such as 1.78')
    if found.group(1) is not None:
        if int(found.group(2)) == 0:
            raise ValueError("must not divide by zero")
        ratio = Fraction(int(found.group(1)), int(found.group(2)))
    else:
        ratio = Fraction(found.group(3))
    if not ASPECT_RANGE[0] <= ratio <= ASPECT_RANGE[1]:
        raise ValueError("must be between 1:10 and 10:1")
    return ratio


def pix_format_problem(codec: str, pix_format: str, *, ladder: bool, profile: str) -> str | None:
    """Why ``pix_format`` can't be encoded by ``codec`` (in a ladder), or None."""
    allowed = PIX_FORMATS.get(codec, (DEFAULT_PIX_FORMAT,))
    if ladder:
        allowed = tuple(fmt for fmt in allowed if fmt in LADDER_PIX_FORMATS)
    if pix_format not in allowed:
        where = f"{codec} in streaming outputs" if ladder else codec
        return f"must be one of: {', '.join(allowed)} for {where}"
    if codec == "libx264" and pix_format in _X264_PROFILES and profile != "main":
        return f"{pix_format} takes the {_X264_PROFILES[pix_format]} profile, not {profile}"
    return None


def encoder_profile(codec: str, profile: str, pix_format: str | None) -> str | None:
    """The ``-profile`` to pass (None: none), following the pixel format where it must."""
    pix = pix_format or DEFAULT_PIX_FORMAT
    if codec == "libx264":
        return _X264_PROFILES.get(pix, profile)
    if codec == "libx265":
        return _X265_PROFILES.get(pix, profile)
    return None


def rotation_filters(degrees: int) -> list[str]:
    """Filters that turn the picture ``degrees`` clockwise."""
    return {
        0: [],
        90: ["transpose=clock"],
        180: ["hflip", "vflip"],
        270: ["transpose=cclock"],
    }[degrees]


def rotated(size: tuple[int, int], degrees: int) -> tuple[int, int]:
    """``size`` after turning the picture ``degrees``."""
    return (size[1], size[0]) if degrees in (90, 270) else size
