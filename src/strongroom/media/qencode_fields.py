"""Which Qencode query fields each place accepts, and the checks that refuse the rest.

Three outcomes for a field: known (read by a reader), documented by Qencode but not honoured by
this version ("... is not supported yet", unless its value is the one that asks for our
behaviour anyway, see ``DEFAULT_ONLY``), or unknown ("unknown field(s)"). A field that belongs
to another output kind is refused as misplaced, naming where it applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strongroom.media.jobspec import OutputKind
from strongroom.media.output_kinds import LADDER_KINDS
from strongroom.media.qencode_values import ERROR_FIELD, QueryError, field_error

# Documented toggles accepted only at the value that matches what we do anyway.
DEFAULT_ONLY: dict[str, tuple[object, ...]] = {
    "upscale": (0, "0"),
    "retry_on_error": (0, "0"),
    "use_subtask_callback": (0, "0"),
    "refresh_playlist": (0, "0"),
    "optimize_bitrate": (0, "0"),
    "allow_soft_fail": (0, "0"),
    "hdr_to_sdr": (0, "0"),
}
TOP_FIELDS = {"source", "format", "encoder_version", "callback_url"}
TOP_LATER = {"stitch", "upscale", "retry_on_error", "use_subtask_callback", "refresh_playlist"}

SIZE_FIELDS = {"size", "width", "height", "resolution"}
AUDIO_FIELDS = {"audio_codec", "audio_bitrate", "audio_sample_rate", "audio_channels_number"}
PICTURE_FIELDS = {
    "aspect_ratio",
    "rotate",
    "resize_mode",
    "pix_format",
    "deinterlace",
    "framerate_limit",
    "audio_mute",
}
RENDITION_FIELDS = (
    SIZE_FIELDS
    | AUDIO_FIELDS
    | {"video_codec", "profile", "quality", "bitrate", "framerate", "keyframe", "tag", "user_tag"}
    | {"video_codec_parameters", "two_pass"}
    | PICTURE_FIELDS
)
HLS_PACKAGING = {"fmp4", "single_folder", "i_frames_only"}
HLS_FIELDS = {"stream", "segment_duration", "playlist_name", "separate_audio"} | HLS_PACKAGING
DASH_FIELDS = (HLS_FIELDS - {"separate_audio"} - HLS_PACKAGING) | {"create_m3u8_playlist"}
REPACK_FIELDS = {"audio_copy", "video_copy", "subtitles_copy", "metadata_copy", "file_extension"}
VMAF_FIELDS = {"distorted", "vmaf_model", "n_subsample", "shortest"}
IMAGE_FIELDS = {"image_format", "quality", "time", "frame_number", "interval", "sprite", "columns"}
CLIP_FIELDS = {"start_time", "duration"}
FORMAT_COMMON = {"output", "tag", "user_tag", "destination"}

# The fields of a format[] entry each kind reads (besides FORMAT_COMMON).
KIND_FIELDS: dict[OutputKind, set[str]] = {
    OutputKind.MP4: RENDITION_FIELDS | CLIP_FIELDS,
    OutputKind.WEBM: (RENDITION_FIELDS - {"profile"}) | CLIP_FIELDS,
    OutputKind.ADVANCED_HLS: HLS_FIELDS | CLIP_FIELDS,
    OutputKind.ADVANCED_DASH: DASH_FIELDS | CLIP_FIELDS,
    # The dash muxer writes no HLS playlist over WebM segments, so no create_m3u8_playlist.
    OutputKind.WEBM_DASH: (DASH_FIELDS - {"create_m3u8_playlist"}) | CLIP_FIELDS,
    OutputKind.HLS_AUDIO: AUDIO_FIELDS | CLIP_FIELDS | {"segment_duration", "playlist_name"},
    # Stream copy cuts only at keyframes, so a repack takes the whole source: no clip fields.
    OutputKind.REPACK: REPACK_FIELDS,
    OutputKind.MP3: AUDIO_FIELDS | CLIP_FIELDS,
    OutputKind.FLAC: AUDIO_FIELDS | CLIP_FIELDS,
    OutputKind.THUMBNAIL: SIZE_FIELDS
    | CLIP_FIELDS
    | {"image_format", "quality", "time"}
    | {"frame_number"},
    OutputKind.THUMBNAILS: SIZE_FIELDS
    | CLIP_FIELDS
    | {"image_format", "quality", "interval", "sprite", "columns"},
    OutputKind.GIF: SIZE_FIELDS | CLIP_FIELDS | {"framerate", "image_format", "quality"},
    OutputKind.METADATA: {"metadata_version"},
    OutputKind.VMAF: VMAF_FIELDS | {"duration"},
}
_ALL_KIND_FIELDS = set().union(*KIND_FIELDS.values())

FORMAT_LATER = {
    "logo",
    "is_watermark",
    "subtitles",
    "encryption",
    "cenc_drm",
    "fps_drm",
    "buydrm_drm",
    "optimize_bitrate",
    "min_crf",
    "max_crf",
    "adjust_crf",
    "hdr_to_sdr",
    "color_space",
    "color_range",
    "color_trc",
    "color_primaries",
    "audio_pan",
    "downmix_mode",
    "tag_video",
    "packager_version",
    "incremental_tag",
    "chunklist_name",
    "allow_soft_fail",
    "keep_360_metadata",
    "inject_360_metadata",
    "mode",
    "language",
    "translate_languages",
    "transcript",
    "json",
    "srt",
    "vtt",
    "transcript_name",
    "json_name",
    "srt_name",
    "vtt_name",
}
STREAM_LATER = FORMAT_LATER | CLIP_FIELDS | {"segment_duration"}


def names(keys: list[str]) -> str:
    """Up to 20 field names, each cut to 64 characters, comma-separated (safe to echo)."""
    return ", ".join(key[:64] for key in keys[:20])


def check_fields(obj: Mapping[str, Any], path: str, known: set[str], later: set[str]) -> None:
    """Refuse unknown fields, then documented fields this version can't honour."""
    unknown = [key for key in obj if key not in known and key not in later]
    if unknown:
        raise QueryError(ERROR_FIELD, f"{path}: unknown field(s): {names(unknown)}", path)
    refused = [key for key in obj if key in later and not _is_default(key, obj[key])]
    if refused:
        verb = "is" if len(refused) == 1 else "are"
        where = f"{path}.{refused[0]}" if len(refused) == 1 else path
        message = f"{path}: {names(refused)} {verb} not supported yet"
        raise QueryError(ERROR_FIELD, message, where)


def check_stream_fields(stream: Mapping[str, Any], path: str) -> None:
    """The field check for one ``stream[]`` entry (advanced_hls, advanced_dash, webm_dash)."""
    packaging = sorted(key for key in stream if key in HLS_PACKAGING)
    if packaging:
        raise field_error(f"{path}.{packaging[0]}", "must be set on the format, not on a stream")
    check_fields(stream, path, RENDITION_FIELDS, STREAM_LATER)


def check_format_fields(item: Mapping[str, Any], path: str, kind: OutputKind) -> None:
    """Refuse fields of other kinds (misplaced), then unknown and unsupported ones."""
    own = KIND_FIELDS[kind] | FORMAT_COMMON
    wrong = [key for key in item if key in _ALL_KIND_FIELDS and key not in own]
    if wrong:
        raise field_error(f"{path}.{wrong[0]}", _misplaced(kind, wrong[0]))
    check_fields(item, path, own, FORMAT_LATER)


def _misplaced(kind: OutputKind, key: str) -> str:
    if kind in LADDER_KINDS and key in RENDITION_FIELDS:
        return f"must be set on each stream[] entry of an {kind.value} output"
    if key in HLS_FIELDS | DASH_FIELDS | REPACK_FIELDS | VMAF_FIELDS:
        owners = ", ".join(k.value for k, fields in KIND_FIELDS.items() if key in fields)
        return f"applies to {owners} outputs only"
    if key == "profile":
        return "applies to libx264 outputs only"
    return f"does not apply to {kind.value} outputs"


def _is_default(key: str, value: Any) -> bool:
    allowed = DEFAULT_ONLY.get(key, ())
    return not isinstance(value, bool | float) and value in allowed
