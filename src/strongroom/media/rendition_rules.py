"""Rules for one rendition of an output kind, and for the renditions of one ladder. Pure.

``jobspec`` runs them in its model validators (so a grant read back is checked again) and the
Qencode readers call them to word their messages with a field path: the codecs, CRF, profile
and two-pass rules per kind (``output_kinds.codec_problem``), ``video_codec_parameters``
(``codec_params``), the picture settings (``picture_rules``), and a ladder's shared codec,
orientation, shape, pixel format and sound, plus the HLS packaging flags.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from strongroom.media.codec_params import check_params
from strongroom.media.output_kinds import (
    LADDER_KINDS,
    TRAITS,
    OutputKind,
    codec_problem,
    default_video_codec,
)
from strongroom.media.picture_rules import LADDER_UNIFORM, pix_format_problem

if TYPE_CHECKING:  # only for annotations: jobspec imports this module
    from strongroom.media.jobspec import OutputSpec, Rendition

# With single_folder the rendition playlists sit beside the master (``hls_layout``).
_RENDITION_PLAYLIST = re.compile(r"^(video_\d+|audio)(_iframes)?\.m3u8$")
HLS_PACKAGING_FLAGS = ("fmp4", "single_folder", "i_frames_only")


def is_rendition_playlist(name: str | None) -> bool:
    """True if ``name`` is one a rendition playlist takes in an HLS single_folder layout."""
    return name is not None and _RENDITION_PLAYLIST.match(name) is not None


def ladder_codec_problem(
    kind: OutputKind, renditions: list[Rendition], *, fmp4: bool
) -> str | None:
    """One video codec per ladder (players switch renditions within one codec), and HEVC in
    HLS only in fMP4 segments (Apple's players refuse HEVC in MPEG-TS)."""
    codecs = {r.video_codec or default_video_codec(kind) for r in renditions}
    if kind in LADDER_KINDS and len(codecs) > 1:
        return "video_codec must be the same for every stream[] entry"
    for name in LADDER_UNIFORM if kind in LADDER_KINDS else ():
        if len({getattr(r, name) for r in renditions}) > 1:
            return f"{name} must be the same for every stream[] entry"
    if kind is OutputKind.ADVANCED_HLS and "libx265" in codecs and not fmp4:
        return "video_codec libx265 needs fmp4: 1 in advanced_hls outputs"
    return None


def hls_packaging_problem(output: OutputSpec) -> str | None:
    for flag in HLS_PACKAGING_FLAGS:
        if getattr(output, flag) and output.kind is not OutputKind.ADVANCED_HLS:
            return f"{flag} applies to advanced_hls outputs only"
    if output.single_folder and is_rendition_playlist(output.manifest_name):
        return "playlist_name must not be the name of a rendition playlist with single_folder"
    return None


_VIDEO_FIELDS = ("video_codec", "quality", "bitrate", "keyframe", "framerate")
_VIDEO_FLAGS = ("video_codec_parameters", "two_pass")
_SIZE_FIELDS = ("width", "height", "resolution")


def rendition_problem(kind: OutputKind, rendition: Rendition) -> str | None:
    traits = TRAITS[kind]
    unused: tuple[str, ...] = ()
    if not traits.video_codecs:
        unused = _VIDEO_FIELDS if kind is not OutputKind.GIF else _VIDEO_FIELDS[:-1]
    if not traits.video_codecs and not traits.image_formats:
        unused += _SIZE_FIELDS
    if not traits.audio_codecs:
        unused += ("audio_codec",)
    for name in unused:
        if getattr(rendition, name) is not None:
            return f"{name} does not apply to {kind.value} outputs"
    for name in _VIDEO_FLAGS if not traits.video_codecs else ():
        if getattr(rendition, name):
            return f"{name} does not apply to {kind.value} outputs"
    found = codec_problem(
        kind,
        video_codec=rendition.video_codec,
        audio_codec=rendition.audio_codec,
        quality=rendition.quality,
        sample_rate=rendition.audio_sample_rate,
        channels=rendition.audio_channels,
        profile=rendition.profile,
        bitrate=rendition.bitrate,
        two_pass=rendition.two_pass,
    ) or _params_problem(kind, rendition)
    found = found or _picture_problem(kind, rendition)
    return None if found is None else f"{found[0]} {found[1]}"


# The picture settings and the values that leave the picture alone (``Rendition``'s defaults).
_PICTURE_DEFAULTS: dict[str, object] = {
    "aspect_ratio": None,
    "rotate": 0,
    "resize_mode": "scale",
    "pix_format": None,
    "deinterlace": False,
    "framerate_limit": None,
    "audio_mute": False,
}


def _picture_problem(kind: OutputKind, rendition: Rendition) -> tuple[str, str] | None:
    if not TRAITS[kind].video_codecs:
        for name, default in _PICTURE_DEFAULTS.items():
            if getattr(rendition, name) != default:
                return name, f"does not apply to {kind.value} outputs"
        return None
    if rendition.pix_format is None:
        return None
    codec = rendition.video_codec or default_video_codec(kind) or ""
    problem = pix_format_problem(
        codec, rendition.pix_format, ladder=kind in LADDER_KINDS, profile=rendition.profile
    )
    return None if problem is None else ("pix_format", problem)


def _params_problem(kind: OutputKind, rendition: Rendition) -> tuple[str, str] | None:
    if not rendition.video_codec_parameters:
        return None
    codec = rendition.video_codec or default_video_codec(kind) or ""
    try:
        normal = check_params(codec, dict(rendition.video_codec_parameters))
    except ValueError as exc:
        return "video_codec_parameters", str(exc)
    # Only the form the parser writes (sorted, unique, canonical values) reaches ffmpeg.
    if normal != rendition.video_codec_parameters:
        return "video_codec_parameters", "are not in canonical form"
    return None
