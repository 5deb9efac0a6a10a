"""``JobSpec``: our typed, validated description of a task.

Both the Qencode v1 query and the native API translate into a ``JobSpec``; nothing downstream
sees raw client JSON. The models are frozen and refuse unknown fields, and they re-check every
range themselves, so a ``JobSpec`` read back from a grant (``JobSpec.model_validate``) is as
safe as one built by a parser. The numeric limits live here once; the Qencode parser reuses them
to word its client-facing messages.
"""

from __future__ import annotations

import re
from enum import StrEnum
from fractions import Fraction
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Inclusive (low, high) limits shared with the Qencode parser's messages.
FRAME_SIDE = (16, 7680)
RESOLUTION = (16, 4320)
CRF = (0, 51)
VIDEO_KBPS = (1, 100_000)
AUDIO_KBPS = (8, 512)
AUDIO_CHANNELS = (1, 8)
SEGMENT_SECONDS = (1, 60)
MAX_FRAMERATE = 120
MAX_KEYFRAME_FRAMES = 1200
MAX_KEYFRAME_SECONDS = 60.0
MAX_CLIP_SECONDS = 24 * 3600.0
MAX_OUTPUTS = 10
MAX_STREAMS = 8
MAX_TAG_CHARS = 256
MAX_SOURCE_CHARS = 4000
AUDIO_SAMPLE_RATES = frozenset(
    {8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000}
)

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_TUS_SOURCE = re.compile(r"^tus:[0-9a-f]{32}$|^tus:[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$")
_PLAYLIST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\.m3u8$")
_KEYFRAME_SECONDS = re.compile(r"^\d{1,3}(\.\d{1,3})?s$")
_KEYFRAME_FRAMES = re.compile(r"^\d{1,4}$")
_FRAMERATE = re.compile(r"^\d{1,6}(\.\d{1,6})?$|^\d{1,6}/\d{1,6}$")


class OutputKind(StrEnum):
    """The output types this version can produce."""

    MP4 = "mp4"
    ADVANCED_HLS = "advanced_hls"


def parse_framerate(text: str) -> Fraction:
    """Return ``text`` ("30", "29.97", "30000/1001") as a fraction in (0, 120].

    Raises ``ValueError`` with a client-safe message otherwise.
    """
    if not _FRAMERATE.match(text):
        raise ValueError("must be a number of frames per second such as 30 or 30000/1001")
    numerator, _, denominator = text.partition("/")
    if denominator and int(denominator) == 0:
        raise ValueError("must not divide by zero")
    rate = Fraction(numerator) / Fraction(denominator or 1)
    if not 0 < rate <= MAX_FRAMERATE:
        raise ValueError(f"must be above 0 and at most {MAX_FRAMERATE}")
    return rate


def parse_keyframe(text: str) -> tuple[int | None, float | None]:
    """Return ``(frames, None)`` for "90" or ``(None, seconds)`` for "3s"; ``ValueError`` else."""
    if _KEYFRAME_FRAMES.match(text):
        frames = int(text)
        if not 1 <= frames <= MAX_KEYFRAME_FRAMES:
            raise ValueError(f"must be 1 to {MAX_KEYFRAME_FRAMES} frames")
        return frames, None
    if _KEYFRAME_SECONDS.match(text):
        seconds = float(text[:-1])
        if not 0 < seconds <= MAX_KEYFRAME_SECONDS:
            raise ValueError(f"must be above 0 and at most {MAX_KEYFRAME_SECONDS:g} seconds")
        return None, seconds
    raise ValueError('must be a number of frames such as 60, or seconds such as "2s"')


def check_source(text: str) -> str:
    """Return ``text`` if it is ``tus:<uuid>`` or a plain http(s) URL; ``ValueError`` else.

    This is only a shape check: the worker fetches URLs through the SSRF-safe fetcher, which
    decides whether the host may be reached.
    """
    if text.startswith("tus:"):
        if not _TUS_SOURCE.match(text):
            raise ValueError("must be tus:<file uuid> as returned by the upload")
        return text
    if len(text) > MAX_SOURCE_CHARS or any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise ValueError("must be a URL of at most 4000 characters without spaces")
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("must be an http(s) URL or tus:<file uuid>")
    if parts.username is not None or parts.password is not None:
        # Credentials inside URLs end up in logs and status pages; refuse them outright.
        raise ValueError("must not contain credentials")
    return text


def check_callback_url(text: str) -> str:
    """Return ``text`` if it is a plain http(s) URL (shape only: the sender's SSRF guard decides
    whether the host may be reached when the callback is delivered); ``ValueError`` else."""
    if text.startswith("tus:"):
        raise ValueError("must be an http(s) URL")
    return check_source(text)


class Rendition(BaseModel):
    """One encoded picture size and bitrate: an HLS ``stream[]`` entry or the mp4 format itself.

    ``resolution`` (the short side) wins over ``width``/``height``. With neither ``quality`` nor
    ``bitrate`` the planner picks a bitrate from the default ladder.
    """

    model_config = _FROZEN

    width: int | None = Field(default=None, ge=FRAME_SIDE[0], le=FRAME_SIDE[1])
    height: int | None = Field(default=None, ge=FRAME_SIDE[0], le=FRAME_SIDE[1])
    resolution: int | None = Field(default=None, ge=RESOLUTION[0], le=RESOLUTION[1])
    video_codec: Literal["libx264"] = "libx264"
    profile: Literal["baseline", "main", "high"] = "main"
    quality: int | None = Field(default=None, ge=CRF[0], le=CRF[1])
    bitrate: int | None = Field(default=None, ge=VIDEO_KBPS[0], le=VIDEO_KBPS[1])
    framerate: str | None = None
    keyframe: str | None = None
    audio_codec: Literal["aac"] = "aac"
    audio_bitrate: int = Field(default=128, ge=AUDIO_KBPS[0], le=AUDIO_KBPS[1])
    audio_sample_rate: int = 48000
    audio_channels: int = Field(default=2, ge=AUDIO_CHANNELS[0], le=AUDIO_CHANNELS[1])
    user_tag: str | None = Field(default=None, max_length=MAX_TAG_CHARS)

    @field_validator("width", "height")
    @classmethod
    def _even(cls, value: int | None) -> int | None:
        if value is not None and value % 2:
            raise ValueError("must be even")
        return value

    @field_validator("framerate")
    @classmethod
    def _framerate(cls, value: str | None) -> str | None:
        if value is not None:
            parse_framerate(value)
        return value

    @field_validator("keyframe")
    @classmethod
    def _keyframe(cls, value: str | None) -> str | None:
        if value is not None:
            parse_keyframe(value)
        return value

    @field_validator("audio_sample_rate")
    @classmethod
    def _sample_rate(cls, value: int) -> int:
        if value not in AUDIO_SAMPLE_RATES:
            raise ValueError("is not a supported sample rate")
        return value


class OutputSpec(BaseModel):
    """One requested output (one Qencode ``format[]`` entry)."""

    model_config = _FROZEN

    index: int = Field(ge=0, lt=MAX_OUTPUTS)
    kind: OutputKind
    renditions: list[Rendition] = Field(min_length=1, max_length=MAX_STREAMS)
    segment_duration: int = Field(default=9, ge=SEGMENT_SECONDS[0], le=SEGMENT_SECONDS[1])
    playlist_name: str = Field(default="playlist.m3u8", pattern=_PLAYLIST_NAME.pattern)
    separate_audio: bool = True
    start_time: float | None = Field(default=None, ge=0, le=MAX_CLIP_SECONDS)
    duration: float | None = Field(default=None, gt=0, le=MAX_CLIP_SECONDS)
    user_tag: str | None = Field(default=None, max_length=MAX_TAG_CHARS)

    @model_validator(mode="after")
    def _one_rendition_for_mp4(self) -> Self:
        if self.kind is OutputKind.MP4 and len(self.renditions) != 1:
            raise ValueError("an mp4 output has exactly one rendition")
        return self


class JobSpec(BaseModel):
    """A whole task: one source and up to ten outputs, indexed 0..n-1 in order."""

    model_config = _FROZEN

    source: str
    outputs: list[OutputSpec] = Field(min_length=1, max_length=MAX_OUTPUTS)
    warnings: list[str] = Field(default_factory=list, max_length=50)
    callback_url: str | None = None

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        return check_source(value)

    @field_validator("callback_url")
    @classmethod
    def _callback(cls, value: str | None) -> str | None:
        return None if value is None else check_callback_url(value)

    @model_validator(mode="after")
    def _indexes_in_order(self) -> Self:
        if [output.index for output in self.outputs] != list(range(len(self.outputs))):
            raise ValueError("output indexes must be 0, 1, 2, ... in order")
        return self


# Encoders that only some workers carry (their ffmpeg build or hardware): a job using one goes
# only to workers enrolled with the matching label. libx264 is everywhere, so it needs none.
ENCODER_LABELS: dict[str, str] = {"libsvtav1": "av1", "libx265": "hevc"}


def required_labels(spec: JobSpec) -> tuple[str, ...]:
    """The worker labels a job needs, sorted (empty for jobs any worker can run)."""
    codecs = {r.video_codec for output in spec.outputs for r in output.renditions}
    return tuple(sorted({ENCODER_LABELS[c] for c in codecs if c in ENCODER_LABELS}))
