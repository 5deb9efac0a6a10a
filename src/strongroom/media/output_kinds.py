"""The output types we produce, what each may contain, and where the edge reports it.

One table (``TRAITS``) per kind: the encoders it accepts (the first is the default), the folder
layout's main file, and the status array (``videos``/``audios``/``images``) the Qencode status
object lists it in. ``jobspec`` validates against this table, the planner reads its defaults
from it and verification maps its encoders to the codec names a probe reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

StatusArray = Literal["videos", "audios", "images"]


class OutputKind(StrEnum):
    """The output types this version can produce (Qencode ``format[].output`` values)."""

    MP4 = "mp4"
    ADVANCED_HLS = "advanced_hls"
    ADVANCED_DASH = "advanced_dash"
    WEBM_DASH = "webm_dash"
    HLS_AUDIO = "hls_audio"
    REPACK = "repack"
    WEBM = "webm"
    MP3 = "mp3"
    FLAC = "flac"
    THUMBNAIL = "thumbnail"
    THUMBNAILS = "thumbnails"
    GIF = "gif"
    METADATA = "metadata"
    VMAF = "vmaf"


class ImageFormat(StrEnum):
    """Still or animated picture formats (``image_format``)."""

    PNG = "png"
    JPG = "jpg"
    WEBP = "webp"
    GIF = "gif"


@dataclass(frozen=True)
class KindTraits:
    """What one output kind is made of. Empty codec tuples mean "no such stream"."""

    status_array: StatusArray
    video_codecs: tuple[str, ...] = ()
    audio_codecs: tuple[str, ...] = ()
    image_formats: tuple[ImageFormat, ...] = ()


TRAITS: dict[OutputKind, KindTraits] = {
    OutputKind.MP4: KindTraits("videos", ("libx264", "libx265", "libsvtav1"), ("aac",)),
    # HEVC in HLS needs fMP4 segments (``jobspec.ladder_codec_problem``).
    OutputKind.ADVANCED_HLS: KindTraits("videos", ("libx264", "libx265"), ("aac",)),
    OutputKind.ADVANCED_DASH: KindTraits("videos", ("libx264", "libx265", "libsvtav1"), ("aac",)),
    OutputKind.WEBM_DASH: KindTraits("videos", ("libvpx-vp9", "libsvtav1"), ("libopus",)),
    OutputKind.HLS_AUDIO: KindTraits("audios", (), ("aac",)),
    # repack copies the source's streams: no encoders to choose (see repack_plan).
    OutputKind.REPACK: KindTraits("videos"),
    OutputKind.WEBM: KindTraits(
        "videos", ("libvpx-vp9", "libvpx", "libsvtav1"), ("libopus", "libvorbis")
    ),
    OutputKind.MP3: KindTraits("audios", (), ("libmp3lame",)),
    OutputKind.FLAC: KindTraits("audios", (), ("flac",)),
    OutputKind.THUMBNAIL: KindTraits(
        "images", image_formats=(ImageFormat.PNG, ImageFormat.JPG, ImageFormat.WEBP)
    ),
    OutputKind.THUMBNAILS: KindTraits(
        "images", image_formats=(ImageFormat.PNG, ImageFormat.JPG, ImageFormat.WEBP)
    ),
    OutputKind.GIF: KindTraits("images", image_formats=(ImageFormat.GIF, ImageFormat.WEBP)),
    # Qencode's SDKs fetch the metadata JSON from videos[0].url, so it is listed there.
    OutputKind.METADATA: KindTraits("videos"),
    # A quality score (JSON) of another output: listed with the videos, like metadata.
    OutputKind.VMAF: KindTraits("videos"),
}

# Kinds whose renditions come from ``stream[]`` (1 to 8), packaged into segments + a manifest.
LADDER_KINDS = frozenset({OutputKind.ADVANCED_HLS, OutputKind.ADVANCED_DASH, OutputKind.WEBM_DASH})
DASH_KINDS = frozenset({OutputKind.ADVANCED_DASH, OutputKind.WEBM_DASH})
# Kinds cut into segments (``segment_duration`` applies).
SEGMENTED_KINDS = LADDER_KINDS | {OutputKind.HLS_AUDIO}
# The manifest a segmented kind's status ``url`` points at, by default (``playlist_name``).
DEFAULT_MANIFESTS = {
    OutputKind.ADVANCED_HLS: "playlist.m3u8",
    OutputKind.HLS_AUDIO: "playlist.m3u8",
    OutputKind.ADVANCED_DASH: "playlist.mpd",
    OutputKind.WEBM_DASH: "playlist.mpd",
}

# Encoder -> the codec name a probe of the output reports (PyAV names mp3's decoder mp3float).
DECODED_NAMES: dict[str, frozenset[str]] = {
    "libx264": frozenset({"h264"}),
    "libx265": frozenset({"hevc"}),
    "libsvtav1": frozenset({"av1", "libdav1d"}),
    "libvpx": frozenset({"vp8"}),
    "libvpx-vp9": frozenset({"vp9"}),
    "aac": frozenset({"aac"}),
    "libopus": frozenset({"opus"}),
    "libvorbis": frozenset({"vorbis"}),
    "libmp3lame": frozenset({"mp3", "mp3float"}),
    "flac": frozenset({"flac"}),
}
# The short name reported to the edge per encoder (OutputReport renditions).
REPORTED_NAMES: dict[str, str] = {
    "libx264": "h264",
    "libx265": "hevc",
    "libsvtav1": "av1",
    "libvpx": "vp8",
    "libvpx-vp9": "vp9",
    "aac": "aac",
    "libopus": "opus",
    "libvorbis": "vorbis",
    "libmp3lame": "mp3",
    "flac": "flac",
}

X264_MAX_CRF = 51
SVTAV1_CRF = (1, 63)
# Encoders whose ``profile`` we pass on, and the profiles each accepts.
PROFILES = {"libx264": ("baseline", "main", "high"), "libx265": ("main",)}
# Two-pass encoding only helps an encoder aiming at a bitrate (x264, x265, libvpx).
TWO_PASS_CODECS = ("libx264", "libx265", "libvpx", "libvpx-vp9")
# The codecs string prefix DASH manifests and HLS masters give each encoder's streams.
CODEC_STRINGS = {
    "libx264": "avc1.",
    "libx265": "hvc1.",
    "libsvtav1": "av01.",
    "libvpx-vp9": "vp09.",
    "libvpx": "vp8",
}
VP8_MIN_CRF = 4  # libvpx refuses a lower CQ level for VP8
OPUS_SAMPLE_RATES = frozenset({8000, 12000, 16000, 24000, 48000})
MP3_SAMPLE_RATES = frozenset({8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000})
MP3_MAX_CHANNELS = 2


def status_array(kind: OutputKind) -> StatusArray:
    """The Qencode status array an output of ``kind`` is listed in.

    Audio-only kinds (mp3, flac, hls_audio) -> "audios"; pictures (thumbnail, thumbnails, gif) ->
    "images"; everything else, including ``metadata`` (Qencode's SDKs read its JSON from
    ``videos[0].url``), -> "videos".
    """
    return TRAITS[kind].status_array


def default_video_codec(kind: OutputKind) -> str | None:
    """The encoder used when a rendition of ``kind`` names none (None: no video stream)."""
    codecs = TRAITS[kind].video_codecs
    return codecs[0] if codecs else None


def default_audio_codec(kind: OutputKind) -> str | None:
    """The audio encoder used when a rendition of ``kind`` names none (None: no audio)."""
    codecs = TRAITS[kind].audio_codecs
    return codecs[0] if codecs else None


def codec_problem(
    kind: OutputKind,
    *,
    video_codec: str | None,
    audio_codec: str | None,
    quality: int | None,
    sample_rate: int,
    channels: int,
    profile: str = "main",
    bitrate: int | None = None,
    two_pass: bool = False,
) -> tuple[str, str] | None:
    """``(field, problem)`` if these settings can't be encoded into ``kind``, else None.

    Checks that the codecs belong to the kind, that the CRF suits the encoder (x264/x265 at
    most 51, VP8 at least 4, SVT-AV1 1-63; libvpx allows 63), that the profile suits it, that
    two_pass has a bitrate to aim at, and that the sample rate and channel count suit the
    audio encoder.
    """
    traits = TRAITS[kind]
    if video_codec is not None and video_codec not in traits.video_codecs:
        return "video_codec", _allowed(kind, traits.video_codecs)
    if audio_codec is not None and audio_codec not in traits.audio_codecs:
        return "audio_codec", _allowed(kind, traits.audio_codecs)
    video = video_codec or default_video_codec(kind) or ""
    found = _quality_problem(video, quality) or _profile_problem(video, profile)
    found = found or _two_pass_problem(video, two_pass, bitrate, quality)
    return found or _audio_problem(audio_codec or default_audio_codec(kind), sample_rate, channels)


def _quality_problem(video: str, quality: int | None) -> tuple[str, str] | None:
    if quality is None:
        return None
    if video in ("libx264", "libx265") and quality > X264_MAX_CRF:
        return "quality", f"must be 0\u2013{X264_MAX_CRF} for {video}"
    if video == "libvpx" and quality < VP8_MIN_CRF:
        return "quality", f"must be {VP8_MIN_CRF}\u201363 for libvpx"
    if video == "libsvtav1" and quality < SVTAV1_CRF[0]:
        return "quality", f"must be {SVTAV1_CRF[0]}\u2013{SVTAV1_CRF[1]} for libsvtav1"
    return None


def _profile_problem(video: str, profile: str) -> tuple[str, str] | None:
    # "main" is the default every encoder meets; other profiles only where we pass them on.
    if profile != "main" and profile not in PROFILES.get(video, ()):
        allowed = ", ".join(PROFILES.get(video, ("main",)))
        return "profile", f"must be one of: {allowed} for {video}"
    return None


def _two_pass_problem(
    video: str, two_pass: bool, bitrate: int | None, quality: int | None
) -> tuple[str, str] | None:
    if not two_pass:
        return None
    if video not in TWO_PASS_CODECS:
        return "two_pass", f"applies to {', '.join(TWO_PASS_CODECS)} only"
    if bitrate is None or quality is not None:
        return "two_pass", "needs a bitrate and no quality (it aims at a bitrate)"
    return None


def _allowed(kind: OutputKind, codecs: tuple[str, ...]) -> str:
    if not codecs:
        return f"does not apply to {kind.value} outputs"
    return f"must be one of: {', '.join(codecs)} for {kind.value} outputs"


def _audio_problem(codec: str | None, sample_rate: int, channels: int) -> tuple[str, str] | None:
    if codec == "libopus" and sample_rate not in OPUS_SAMPLE_RATES:
        rates = ", ".join(str(rate) for rate in sorted(OPUS_SAMPLE_RATES))
        return "audio_sample_rate", f"must be one of: {rates} for libopus"
    if codec == "libmp3lame" and sample_rate not in MP3_SAMPLE_RATES:
        rates = ", ".join(str(rate) for rate in sorted(MP3_SAMPLE_RATES))
        return "audio_sample_rate", f"must be one of: {rates} for mp3"
    if codec == "libmp3lame" and channels > MP3_MAX_CHANNELS:
        return "audio_channels_number", f"must be 1\u2013{MP3_MAX_CHANNELS} for mp3"
    return None
