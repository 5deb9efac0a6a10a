"""Parse ffprobe-style JSON (from ``strongroom.media.probe_tool``) into typed facts.

The JSON describes untrusted media, so every value is checked: a field of the wrong type or
out of any sane range raises ``InputRejected`` rather than flowing on as a dict. A document
that is not probe output at all raises ``MediaError`` (that is our bug, not the client's).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from strongroom.media.errors import InputRejected, MediaError
from strongroom.media.limits import Limits

_MAX_SIDE = 65_536
_MAX_FPS = 1000.0
_PICTURE_TOO_LARGE = "the source picture size is unknown or larger than allowed"


@dataclass(frozen=True)
class VideoStreamInfo:
    """The first real video stream (cover art excluded); ``rotation`` is 0/90/180/270 CCW."""

    codec: str
    width: int
    height: int
    fps: float
    pix_fmt: str | None
    rotation: int

    @property
    def display_size(self) -> tuple[int, int]:
        """``(width, height)`` as shown, i.e. swapped for a 90/270 degree rotation."""
        if self.rotation in (90, 270):
            return self.height, self.width
        return self.width, self.height


@dataclass(frozen=True)
class AudioStreamInfo:
    """The first audio stream."""

    codec: str
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class MediaInfo:
    """What the planner and the limit checks need to know about a file.

    ``codecs`` is ``(codec_type, codec_name)`` for every video (cover art excluded), audio
    and subtitle stream, in file order: a repack copies them and must know they fit.
    """

    format_name: str
    duration: float
    size: int
    bit_rate: int | None
    video: VideoStreamInfo | None
    audio: AudioStreamInfo | None
    stream_count: int
    codecs: tuple[tuple[str, str], ...] = ()


def parse_probe(data: Mapping[str, Any]) -> MediaInfo:
    """Turn ffprobe-style ``{"format": {...}, "streams": [...]}`` into a ``MediaInfo``.

    Raises ``MediaError`` if ``data`` is not shaped like probe output, and ``InputRejected`` if
    it describes media we can't use (no audio or video stream, unknown duration, nonsense
    sizes or rates).
    """
    fmt = data.get("format") if isinstance(data, Mapping) else None
    streams = data.get("streams") if isinstance(data, Mapping) else None
    if not isinstance(fmt, Mapping) or not isinstance(streams, list):
        raise MediaError("the media could not be inspected", detail="not probe output")
    if not all(isinstance(stream, Mapping) for stream in streams):
        raise MediaError("the media could not be inspected", detail="bad streams list")
    video = _first_video(streams)
    audio = _first_audio(streams)
    if video is None and audio is None:
        raise InputRejected("the source has no audio or video stream")
    return MediaInfo(
        format_name=_text(fmt.get("format_name"), "format_name"),
        duration=_duration(fmt.get("duration")),
        size=_whole(fmt.get("size"), "size", 0, 1 << 50),
        bit_rate=_optional_whole(fmt.get("bit_rate"), "bit_rate"),
        video=video,
        audio=audio,
        stream_count=len(streams),
        codecs=_codecs(streams),
    )


_COPIED_TYPES = ("video", "audio", "subtitle")


def _codecs(streams: list[Mapping[str, Any]]) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    for stream in streams:
        kind = stream.get("codec_type")
        disposition = stream.get("disposition")
        cover = isinstance(disposition, Mapping) and disposition.get("attached_pic") == 1
        if kind in _COPIED_TYPES and not cover:
            name = _optional_text(stream.get("codec_name")) or "unknown"
            found.append((str(kind), name))
    return tuple(found)


def check_limits(info: MediaInfo, limits: Limits) -> None:
    """Raise ``InputRejected`` if ``info`` exceeds any input limit in ``limits``."""
    if info.size > limits.max_input_bytes:
        raise InputRejected("the source file is too large")
    if info.stream_count > limits.max_streams:
        raise InputRejected(f"the source has more than {limits.max_streams} streams")
    if info.duration > limits.max_duration:
        raise InputRejected(f"the source is longer than {limits.max_duration:g} seconds")
    if info.video is not None and info.video.width * info.video.height > limits.max_pixels:
        raise InputRejected(_PICTURE_TOO_LARGE)


def _first_video(streams: list[Mapping[str, Any]]) -> VideoStreamInfo | None:
    for stream in streams:
        disposition = stream.get("disposition")
        cover = isinstance(disposition, Mapping) and disposition.get("attached_pic") == 1
        if stream.get("codec_type") == "video" and not cover:
            if stream.get("width") == 0 or stream.get("height") == 0:
                # The probe reports 0x0 when the decoder refused a frame over max_pixels.
                raise InputRejected(_PICTURE_TOO_LARGE)
            return VideoStreamInfo(
                codec=_text(stream.get("codec_name"), "codec_name"),
                width=_whole(stream.get("width"), "width", 1, _MAX_SIDE),
                height=_whole(stream.get("height"), "height", 1, _MAX_SIDE),
                fps=_fps(stream),
                pix_fmt=_optional_text(stream.get("pix_fmt")),
                rotation=_rotation(stream),
            )
    return None


def _first_audio(streams: list[Mapping[str, Any]]) -> AudioStreamInfo | None:
    for stream in streams:
        if stream.get("codec_type") == "audio":
            return AudioStreamInfo(
                codec=_text(stream.get("codec_name"), "codec_name"),
                sample_rate=_whole(stream.get("sample_rate"), "sample_rate", 1, 768_000),
                channels=_whole(stream.get("channels"), "channels", 1, 64),
            )
    return None


def _reject(field: str) -> InputRejected:
    return InputRejected("the source has invalid stream information", detail=field)


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise _reject(field)
    return value


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= 64 else None


def _number(value: Any) -> float | None:
    # ffprobe writes most numbers as strings ("2.000000"); our tool does the same.
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _whole(value: Any, field: str, low: int, high: int) -> int:
    number = _number(value)
    if number is None or not number.is_integer() or not low <= number <= high:
        raise _reject(field)
    return int(number)


def _optional_whole(value: Any, field: str) -> int | None:
    return None if value in (None, "N/A") else _whole(value, field, 0, 1 << 40)


def _duration(value: Any) -> float:
    number = _number(value)
    if number is None or number <= 0:
        raise InputRejected("the source duration could not be determined")
    return number


def _rate(text: Any) -> float:
    if not isinstance(text, str) or "/" not in text:
        return 0.0
    numerator, _, denominator = text.partition("/")
    try:
        rate = Fraction(int(numerator), int(denominator)) if int(denominator) else Fraction(0)
    except ValueError:
        return 0.0
    return float(rate) if 0 < rate <= _MAX_FPS else 0.0


def _fps(stream: Mapping[str, Any]) -> float:
    """Average frame rate, else the base rate, else 0.0 (unknown)."""
    return _rate(stream.get("avg_frame_rate")) or _rate(stream.get("r_frame_rate"))


def _rotation(stream: Mapping[str, Any]) -> int:
    """Display rotation normalised to 0/90/180/270 (counter-clockwise, as ffprobe prints it)."""
    raw: Any = None
    side_data = stream.get("side_data_list")
    if isinstance(side_data, list):
        raw = next(
            (
                item.get("rotation")
                for item in side_data
                if isinstance(item, Mapping) and "rotation" in item
            ),
            None,
        )
    number = _number(raw)
    if number is None:
        return 0
    return round(number / 90.0) * 90 % 360
