"""``JobSpec``: our typed, validated description of a task.

Both the Qencode v1 query and the native API translate into a ``JobSpec``; nothing downstream
sees raw client JSON. The models are frozen and refuse unknown fields, and they re-check every
range themselves, so a ``JobSpec`` read back from a grant (``JobSpec.model_validate``) is as
safe as one built by a parser. The numeric limits live here once; the Qencode parser reuses them
to word its client-facing messages.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from strongroom.media.codec_params import MAX_PARAMS
from strongroom.media.destinations import MAX_DESTINATIONS, DestinationSpec
from strongroom.media.output_kinds import (
    DEFAULT_MANIFESTS,
    LADDER_KINDS,
    TRAITS,
    ImageFormat,
    OutputKind,
)
from strongroom.media.picture_rules import (
    parse_aspect_ratio,
)
from strongroom.media.rendition_rules import (
    hls_packaging_problem,
    ladder_codec_problem,
    rendition_problem,
)
from strongroom.media.vmaf_settings import VmafSettings, reference_problem

__all__ = [
    "ImageFormat",
    "ImageSettings",
    "JobSpec",
    "OutputKind",
    "OutputSpec",
    "Rendition",
    "RepackSettings",
    "required_labels",
]

# Inclusive (low, high) limits shared with the Qencode parser's messages.
FRAME_SIDE = (16, 7680)
RESOLUTION = (16, 4320)
CRF = (0, 51)
VPX_CRF = (0, 63)
IMAGE_QUALITY = (1, 100)
THUMBNAIL_INTERVAL = (0.1, 3600.0)
SPRITE_COLUMNS = (1, 50)
MAX_FRAME_NUMBER = 10_000_000
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
_PLAYLIST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\.(m3u8|mpd)$")
_KEYFRAME_SECONDS = re.compile(r"^\d{1,3}(\.\d{1,3})?s$")
_KEYFRAME_FRAMES = re.compile(r"^\d{1,4}$")
_FRAMERATE = re.compile(r"^\d{1,6}(\.\d{1,6})?$|^\d{1,6}/\d{1,6}$")


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
    ``bitrate`` the planner picks a bitrate from the default ladder. A codec left at None means
    the output kind's default (``output_kinds.TRAITS``); whether a codec, CRF or sample rate
    suits the kind is checked by ``OutputSpec``. Picture outputs use only the size fields (and
    ``framerate`` for gif); audio-only outputs only the audio fields.
    """

    model_config = _FROZEN

    width: int | None = Field(default=None, ge=FRAME_SIDE[0], le=FRAME_SIDE[1])
    height: int | None = Field(default=None, ge=FRAME_SIDE[0], le=FRAME_SIDE[1])
    resolution: int | None = Field(default=None, ge=RESOLUTION[0], le=RESOLUTION[1])
    video_codec: Literal["libx264", "libx265", "libsvtav1", "libvpx", "libvpx-vp9"] | None = None
    profile: Literal["baseline", "main", "high"] = "main"
    video_codec_parameters: tuple[tuple[str, str], ...] = Field(default=(), max_length=MAX_PARAMS)
    two_pass: bool = False
    # Picture settings (``picture_rules``); every default leaves the picture as it was.
    aspect_ratio: str | None = Field(default=None, max_length=16)
    rotate: Literal[0, 90, 180, 270] = 0
    resize_mode: Literal["scale", "crop"] = "scale"
    pix_format: str | None = Field(default=None, max_length=16)
    deinterlace: bool = False
    framerate_limit: str | None = None
    audio_mute: bool = False
    quality: int | None = Field(default=None, ge=VPX_CRF[0], le=VPX_CRF[1])
    bitrate: int | None = Field(default=None, ge=VIDEO_KBPS[0], le=VIDEO_KBPS[1])
    framerate: str | None = None
    keyframe: str | None = None
    audio_codec: Literal["aac", "libopus", "libvorbis", "libmp3lame", "flac"] | None = None
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

    @field_validator("framerate", "framerate_limit")
    @classmethod
    def _framerate(cls, value: str | None) -> str | None:
        if value is not None:
            parse_framerate(value)
        return value

    @field_validator("aspect_ratio")
    @classmethod
    def _aspect_ratio(cls, value: str | None) -> str | None:
        if value is not None:
            parse_aspect_ratio(value)
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


class ImageSettings(BaseModel):
    """Picture options of ``thumbnail``, ``thumbnails`` and ``gif`` outputs.

    ``image_format`` None means the kind's default (png; gif for gif outputs). ``time`` is a
    fraction of the clip's duration and ``frame_number`` an exact frame (it wins); both apply
    to ``thumbnail`` only. ``interval`` (seconds), ``sprite`` and ``columns`` apply to
    ``thumbnails`` only. ``quality`` (1 worst to 100 best) applies to jpg and webp only.
    """

    model_config = _FROZEN

    image_format: ImageFormat | None = None
    quality: int | None = Field(default=None, ge=IMAGE_QUALITY[0], le=IMAGE_QUALITY[1])
    time: float | None = Field(default=None, ge=0, le=1)
    frame_number: int | None = Field(default=None, ge=0, le=MAX_FRAME_NUMBER)
    interval: float | None = Field(default=None, ge=THUMBNAIL_INTERVAL[0], le=THUMBNAIL_INTERVAL[1])
    sprite: bool = False
    columns: int | None = Field(default=None, ge=SPRITE_COLUMNS[0], le=SPRITE_COLUMNS[1])


RepackContainer = Literal["mp4", "mov", "mkv", "webm", "ts"]


class RepackSettings(BaseModel):
    """What a ``repack`` output keeps of the source (Qencode's ``*_copy`` flags, default keep)
    and the container it writes. Streams are copied, never re-encoded; whether the source's
    codecs fit the container is known only once the source is probed (``repack_plan``).
    """

    model_config = _FROZEN

    container: RepackContainer = "mp4"
    video: bool = True
    audio: bool = True
    subtitles: bool = True
    metadata: bool = True

    @model_validator(mode="after")
    def _keeps_something(self) -> Self:
        if not (self.video or self.audio):
            raise ValueError("a repack output must keep the video or the audio")
        return self


class OutputSpec(BaseModel):
    """One requested output (one Qencode ``format[]`` entry).

    ``renditions``: one for every kind except the ladders (``advanced_hls``,
    ``advanced_dash``, ``webm_dash``: 1 to 8) and ``metadata``/``repack`` (none). For picture
    kinds the rendition carries only the picture size (and ``framerate`` for gif); ``images``
    holds the picture options (None: all defaults). ``playlist_name`` (None: the kind's default,
    see ``manifest_name``) ends in .m3u8 for HLS kinds and .mpd for DASH kinds;
    ``create_m3u8_playlist`` (advanced_dash) also writes an HLS master over the same segments;
    ``fmp4``, ``single_folder`` and ``i_frames_only`` (advanced_hls) pick the segment type, the
    folder layout and the trick-play playlists (``hls_layout``);
    ``repack`` holds a repack output's settings (None: all defaults); ``destinations`` the
    buckets its files are copied to (``strongroom.media.destinations``).
    """

    model_config = _FROZEN

    index: int = Field(ge=0, lt=MAX_OUTPUTS)
    kind: OutputKind
    renditions: list[Rendition] = Field(default_factory=list, max_length=MAX_STREAMS)
    segment_duration: int = Field(default=9, ge=SEGMENT_SECONDS[0], le=SEGMENT_SECONDS[1])
    playlist_name: str | None = Field(default=None, pattern=_PLAYLIST_NAME.pattern)
    separate_audio: bool = True
    create_m3u8_playlist: bool = False
    fmp4: bool = False
    single_folder: bool = False
    i_frames_only: bool = False
    repack: RepackSettings | None = None
    start_time: float | None = Field(default=None, ge=0, le=MAX_CLIP_SECONDS)
    duration: float | None = Field(default=None, gt=0, le=MAX_CLIP_SECONDS)
    images: ImageSettings | None = None
    vmaf: VmafSettings | None = None
    user_tag: str | None = Field(default=None, max_length=MAX_TAG_CHARS)
    # Copies to S3 buckets (none: served from our encrypted store); credentials are kept apart.
    destinations: list[DestinationSpec] = Field(default_factory=list, max_length=MAX_DESTINATIONS)

    @model_validator(mode="after")
    def _fits_its_kind(self) -> Self:
        problem = (
            _rendition_count_problem(self)
            or _images_problem(self)
            or _packaging_problem(self)
            or ladder_codec_problem(self.kind, self.renditions, fmp4=self.fmp4)
        )
        for rendition in self.renditions:
            problem = problem or rendition_problem(self.kind, rendition)
        if self.kind is OutputKind.METADATA and (self.start_time or self.duration):
            problem = problem or "a metadata output describes the whole source: no clipping"
        if (self.vmaf is not None) != (self.kind is OutputKind.VMAF):
            problem = problem or "vmaf settings belong to vmaf outputs only"
        if self.kind is OutputKind.VMAF and self.start_time:
            problem = problem or "a vmaf output measures its output's whole window: no start_time"
        if problem:
            raise ValueError(problem)
        return self

    @property
    def manifest_name(self) -> str | None:
        """The playlist/manifest file of a segmented output (None for other kinds)."""
        return self.playlist_name or DEFAULT_MANIFESTS.get(self.kind)


def _rendition_count_problem(output: OutputSpec) -> str | None:
    count = len(output.renditions)
    if output.kind in LADDER_KINDS:
        return None if count >= 1 else f"an {output.kind.value} output needs at least one stream"
    if output.kind in (OutputKind.METADATA, OutputKind.REPACK, OutputKind.VMAF):
        return None if count == 0 else f"a {output.kind.value} output has no renditions"
    return None if count == 1 else f"{output.kind.value} outputs have exactly one rendition"


def _packaging_problem(output: OutputSpec) -> str | None:
    default = DEFAULT_MANIFESTS.get(output.kind)
    if output.playlist_name is not None:
        if default is None:
            return f"playlist_name does not apply to {output.kind.value} outputs"
        suffix = default.rpartition(".")[2]
        if output.playlist_name.rpartition(".")[2] != suffix:
            return f"playlist_name must end in .{suffix} for {output.kind.value} outputs"
    if output.create_m3u8_playlist and output.kind is not OutputKind.ADVANCED_DASH:
        return "create_m3u8_playlist applies to advanced_dash outputs only"
    if output.repack is not None and output.kind is not OutputKind.REPACK:
        return f"repack settings do not apply to {output.kind.value} outputs"
    return hls_packaging_problem(output)


_THUMBNAIL_ONLY = ("time", "frame_number")
_THUMBNAILS_ONLY = ("interval", "sprite", "columns")


def _images_problem(output: OutputSpec) -> str | None:
    formats = TRAITS[output.kind].image_formats
    images = output.images
    if images is None:
        return None
    if not formats:
        return f"image settings do not apply to {output.kind.value} outputs"
    if images.image_format is not None and images.image_format not in formats:
        allowed = ", ".join(f.value for f in formats)
        return f"image_format must be one of: {allowed} for {output.kind.value} outputs"
    return _image_fields_problem(output.kind, images, images.image_format or formats[0])


def _image_fields_problem(kind: OutputKind, images: ImageSettings, fmt: ImageFormat) -> str | None:
    given = {
        name
        for name in images.model_fields_set
        if getattr(images, name) is not None and getattr(images, name) is not False
    }
    own = {
        OutputKind.THUMBNAIL: _THUMBNAIL_ONLY,
        OutputKind.THUMBNAILS: _THUMBNAILS_ONLY,
    }.get(kind, ())
    wrong = given & (set(_THUMBNAIL_ONLY + _THUMBNAILS_ONLY) - set(own))
    if wrong:
        return f"{sorted(wrong)[0]} does not apply to {kind.value} outputs"
    if images.columns is not None and not images.sprite:
        return "columns applies to sprites only"
    if images.quality is not None and fmt not in (ImageFormat.JPG, ImageFormat.WEBP):
        return "quality applies to jpg and webp images only"
    return None


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
        for output in self.outputs:
            problem = output.vmaf and reference_problem(self.outputs, output.vmaf)
            if problem:
                raise ValueError(f"format[{output.index}].distorted {problem}")
        return self


# Encoders that only some workers carry (their ffmpeg build or hardware): a job using one goes
# only to workers enrolled with the matching label. libx264 is everywhere, so it needs none.
ENCODER_LABELS: dict[str, str] = {"libsvtav1": "av1", "libx265": "hevc"}


def required_labels(spec: JobSpec) -> tuple[str, ...]:
    """The worker labels a job needs, sorted (empty for jobs any worker can run)."""
    codecs = {r.video_codec or "" for output in spec.outputs for r in output.renditions}
    return tuple(sorted({ENCODER_LABELS[c] for c in codecs if c in ENCODER_LABELS}))
