"""Per-kind readers of a Qencode ``format[]`` entry (see ``strongroom.media.qencode``).

Each ``read_<kind>`` function takes the entry, its path (``format[i]``) and the job's warning
list, and returns the ``OutputSpec`` fields it read. Which fields a kind accepts at all is
decided by the caller; these readers check values and ranges, naming the field in every
message, and call ``output_kinds.codec_problem`` so a codec that doesn't fit the kind is
refused with its path rather than by the model's backstop.

Defaults chosen where Qencode documents none: a ``thumbnail`` is taken at ``time`` 0.5 (the
middle of the clip); ``thumbnails`` come every 10 seconds and sprites have 10 columns; a gif
keeps the source frame rate up to 15 fps (see the planner).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from strongroom.media import jobspec as js
from strongroom.media.jobspec import OutputKind, OutputSpec, Rendition
from strongroom.media.output_kinds import (
    DEFAULT_MANIFESTS,
    TRAITS,
    codec_problem,
    default_video_codec,
)
from strongroom.media.picture_rules import (
    ALL_PIX_FORMATS,
)
from strongroom.media.qencode_fields import IMAGE_FIELDS, check_stream_fields
from strongroom.media.qencode_values import (
    field_error,
    read_bool,
    read_choice,
    read_float,
    read_int,
    read_number_text,
    read_size,
    read_text,
)
from strongroom.media.qencode_video import (
    check_pix_format,
    read_aspect_ratio,
    read_codec_parameters,
    read_rotate,
)
from strongroom.media.qencode_vmaf import read_vmaf
from strongroom.media.rendition_rules import (
    HLS_PACKAGING_FLAGS,
    is_rendition_playlist,
    ladder_codec_problem,
)

Warnings = list[str]

# Codecs Qencode documents that we can't produce yet (any kind): "not supported yet".
_VIDEO_CODECS_LATER = {"lcevc_h264", "lcevc_hevc"}
_DOCUMENTED_VIDEO_CODECS = _VIDEO_CODECS_LATER | {
    "libx264",
    "libx265",
    "libsvtav1",
    "libvpx",
    "libvpx-vp9",
}
_DOCUMENTED_AUDIO_CODECS = {"aac", "libfdk_aac", "libvorbis", "mp3", "libopus", "flac"}
_AUDIO_ALIASES = {"mp3": "libmp3lame"}


def read_tag(item: Mapping[str, Any], path: str) -> str | None:
    """The ``tag`` (or legacy ``user_tag``) of an entry, if any."""
    key = "tag" if "tag" in item else "user_tag" if "user_tag" in item else None
    return read_text(item[key], f"{path}.{key}", js.MAX_TAG_CHARS) if key else None


def read_single_rendition(
    kind: OutputKind, item: Mapping[str, Any], path: str, warnings: Warnings
) -> dict[str, Any]:
    """mp4 / webm: the format itself is the one rendition."""
    return {"renditions": [read_rendition(kind, item, path, warnings)]}


def read_ladder(
    kind: OutputKind, item: Mapping[str, Any], path: str, warnings: Warnings
) -> dict[str, Any]:
    """advanced_hls / advanced_dash / webm_dash: ``stream[]`` renditions plus packaging."""
    streams = item.get("stream")
    if not isinstance(streams, list) or not streams:
        raise field_error(f"{path}.stream", "must be a non-empty list of objects")
    if len(streams) > js.MAX_STREAMS:
        raise field_error(f"{path}.stream", f"must have at most {js.MAX_STREAMS} entries")
    renditions = [
        _read_stream(kind, stream, f"{path}.stream[{n}]", warnings)
        for n, stream in enumerate(streams)
    ]
    fields = {"renditions": renditions, **_read_segmenting(kind, item, path)}
    for key in ("separate_audio", "create_m3u8_playlist", *HLS_PACKAGING_FLAGS):
        if key in item:
            fields[key] = read_bool(item[key], f"{path}.{key}")
    problem = ladder_codec_problem(kind, renditions, fmp4=bool(fields.get("fmp4")))
    if problem is not None:
        raise field_error(f"{path}.stream", problem.removeprefix("video_codec "))
    if fields.get("single_folder") and is_rendition_playlist(fields.get("playlist_name")):
        problem = "must not be the name of a rendition playlist with single_folder"
        raise field_error(f"{path}.playlist_name", problem)
    return fields


def read_hls_audio(
    kind: OutputKind, item: Mapping[str, Any], path: str, warnings: Warnings
) -> dict[str, Any]:
    """hls_audio: one audio-only rendition from the format's audio fields, plus packaging."""
    return {
        "renditions": [read_rendition(kind, item, path, warnings)],
        **_read_segmenting(kind, item, path),
    }


def _read_segmenting(kind: OutputKind, item: Mapping[str, Any], path: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "segment_duration" in item:
        fields["segment_duration"] = read_int(
            item["segment_duration"], f"{path}.segment_duration", *js.SEGMENT_SECONDS
        )
    if "playlist_name" in item:
        fields["playlist_name"] = _read_playlist_name(
            kind, item["playlist_name"], f"{path}.playlist_name"
        )
    return fields


# Qencode's legacy ``file_extension`` names the container; a leading dot is tolerated.
_REPACK_CONTAINERS = ("mp4", "mov", "mkv", "webm", "ts")
_COPY_FLAGS = {"video_copy": "video", "audio_copy": "audio", "subtitles_copy": "subtitles"}


def read_repack(
    _kind: OutputKind, item: Mapping[str, Any], path: str, _warnings: Warnings
) -> dict[str, Any]:
    """repack: the ``*_copy`` flags (default 1 = keep) and the container (default mp4)."""
    settings: dict[str, Any] = {}
    for key, name in {**_COPY_FLAGS, "metadata_copy": "metadata"}.items():
        if key in item:
            settings[name] = read_bool(item[key], f"{path}.{key}")
    if "file_extension" in item:
        where = f"{path}.file_extension"
        text = read_text(item["file_extension"], where, 8).removeprefix(".")
        settings["container"] = read_choice(text, where, _REPACK_CONTAINERS)
    if not (settings.get("video", True) or settings.get("audio", True)):
        raise field_error(path, "video_copy and audio_copy are both 0: nothing to repack")
    return {"repack": settings}


def read_audio_only(
    kind: OutputKind, item: Mapping[str, Any], path: str, warnings: Warnings
) -> dict[str, Any]:
    """mp3 / flac: one rendition with audio settings only. A bitrate on flac is ignored."""
    if kind is OutputKind.FLAC and "audio_bitrate" in item:
        read_int(item["audio_bitrate"], f"{path}.audio_bitrate", *js.AUDIO_KBPS)
        warnings.append(f"{path}.audio_bitrate: flac is lossless, the bitrate was ignored")
        item = {key: value for key, value in item.items() if key != "audio_bitrate"}
    return {"renditions": [read_rendition(kind, item, path, warnings)]}


def read_picture(
    kind: OutputKind, item: Mapping[str, Any], path: str, warnings: Warnings
) -> dict[str, Any]:
    """thumbnail / thumbnails / gif: a size-only rendition and the image settings."""
    images: dict[str, Any] = {}
    for key, reader in _IMAGE_READERS.items():
        if key in item:
            images[key] = reader(item[key], f"{path}.{key}")
    if "image_format" in item:
        allowed = tuple(fmt.value for fmt in TRAITS[kind].image_formats)
        images["image_format"] = read_choice(item["image_format"], f"{path}.image_format", allowed)
    sizes = {key: value for key, value in item.items() if key not in IMAGE_FIELDS}
    return {"renditions": [read_rendition(kind, sizes, path, warnings)], "images": images}


# Qencode's SDKs ask for the ffprobe 4.1.5 layout; ours is ffprobe's JSON layout as well.
METADATA_VERSION = "4.1.5"


def read_metadata(
    _kind: OutputKind, item: Mapping[str, Any], path: str, warnings: Warnings
) -> dict[str, Any]:
    """metadata: only `metadata_version`, which picks no behaviour here (one JSON layout)."""
    if "metadata_version" in item:
        version = read_text(item["metadata_version"], f"{path}.metadata_version", 16)
        if version != METADATA_VERSION:
            warnings.append(
                f"{path}.metadata_version {version} is served in the {METADATA_VERSION} JSON layout"
            )
    return {}


def _read_stream(kind: OutputKind, stream: Any, path: str, warnings: Warnings) -> Rendition:
    if not isinstance(stream, dict):
        raise field_error(path, "must be an object")
    check_stream_fields(stream, path)
    if "profile" in stream and kind is OutputKind.WEBM_DASH:
        raise field_error(f"{path}.profile", "applies to libx264 outputs only")
    return read_rendition(kind, stream, path, warnings)


def _read_playlist_name(kind: OutputKind, value: Any, path: str) -> str:
    text = read_text(value, path, 104)
    suffix = DEFAULT_MANIFESTS[kind].rpartition(".")[2]
    try:
        OutputSpec.model_validate(
            {"index": 0, "kind": kind, "playlist_name": text, "renditions": [{}]}
        )
    except ValidationError:
        raise field_error(path, f"must be a plain file name ending in .{suffix}") from None
    return text


def read_rendition(
    kind: OutputKind, item: Mapping[str, Any], path: str, warnings: Warnings
) -> Rendition:
    """Read the rendition fields present in ``item`` for an output of ``kind``."""
    fields: dict[str, Any] = dict(_read_frame_size(item, path))
    for key, reader in _RENDITION_READERS.items():
        if key in item:
            fields[_MODEL_NAMES.get(key, key)] = reader(item[key], f"{path}.{key}")
    if "video_codec" in item:
        fields["video_codec"] = _read_video_codec(kind, item["video_codec"], f"{path}.video_codec")
    codec = fields.get("video_codec") or default_video_codec(kind)
    if "quality" in item:
        wide = kind in (OutputKind.WEBM, OutputKind.WEBM_DASH) or codec == "libsvtav1"
        high = js.VPX_CRF[1] if wide else js.CRF[1]
        fields["quality"] = read_int(item["quality"], f"{path}.quality", js.CRF[0], high)
    if "video_codec_parameters" in item:
        fields["video_codec_parameters"] = read_codec_parameters(
            codec, item["video_codec_parameters"], f"{path}.video_codec_parameters"
        )
    if "audio_codec" in item:
        fields["audio_codec"] = _read_audio_codec(kind, item["audio_codec"], path, warnings)
    fields["user_tag"] = read_tag(item, path)
    _check_codecs(kind, fields, path)
    return Rendition.model_validate(fields)


def _check_codecs(kind: OutputKind, fields: Mapping[str, Any], path: str) -> None:
    defaults = Rendition()
    found = codec_problem(
        kind,
        video_codec=fields.get("video_codec"),
        audio_codec=fields.get("audio_codec"),
        quality=fields.get("quality"),
        sample_rate=fields.get("audio_sample_rate", defaults.audio_sample_rate),
        channels=fields.get("audio_channels", defaults.audio_channels),
        profile=fields.get("profile", defaults.profile),
        bitrate=fields.get("bitrate"),
        two_pass=fields.get("two_pass", False),
    )
    if found is not None:
        raise field_error(f"{path}.{found[0]}", found[1])
    if fields.get("pix_format") is not None:
        check_pix_format(kind, fields, path)


def _read_frame_size(item: Mapping[str, Any], path: str) -> dict[str, int]:
    sizes: dict[str, int] = {}
    if "size" in item:
        if "width" in item or "height" in item:
            raise field_error(f"{path}.size", "must not be combined with width or height")
        sizes["width"], sizes["height"] = read_size(item["size"], f"{path}.size")
    for key in ("width", "height"):
        if key in item:
            sizes[key] = item[key]
    for key, value in list(sizes.items()):
        where = f"{path}.{'size' if 'size' in item else key}"
        sizes[key] = read_int(value, where, *js.FRAME_SIDE)
        if sizes[key] % 2:
            raise field_error(where, "must be even")
    if "resolution" in item:
        sizes["resolution"] = read_int(item["resolution"], f"{path}.resolution", *js.RESOLUTION)
    return sizes


def _read_video_codec(kind: OutputKind, value: Any, path: str) -> str:
    accepted = TRAITS[kind].video_codecs
    text = value.lower() if isinstance(value, str) else value
    if text in _DOCUMENTED_VIDEO_CODECS and text not in accepted:
        supported = ", ".join(accepted)
        raise field_error(
            path, f"{text} is not supported yet for {kind.value} outputs (supported: {supported})"
        )
    return read_choice(value, path, accepted)


def _read_audio_codec(kind: OutputKind, value: Any, path: str, warnings: Warnings) -> str:
    where = f"{path}.audio_codec"
    accepted = TRAITS[kind].audio_codecs
    text = value.lower() if isinstance(value, str) else value
    if text == "libfdk_aac" and "aac" in accepted:
        warnings.append(f"{where}: libfdk_aac is served by the aac encoder")
        return "aac"
    text = _AUDIO_ALIASES.get(text, text) if isinstance(text, str) else text
    if text in accepted:
        return str(text)
    names = ", ".join(["aac", "libfdk_aac"] if "aac" in accepted else accepted)
    if text in _DOCUMENTED_AUDIO_CODECS or text == "libmp3lame":
        raise field_error(
            where, f"{text} is not supported yet for {kind.value} outputs (supported: {names})"
        )
    raise field_error(where, f"must be one of: {names}")


def _read_framerate(value: Any, path: str) -> str:
    text = read_number_text(value, path)
    try:
        js.parse_framerate(text)
    except ValueError as exc:
        raise field_error(path, str(exc)) from None
    return text


def _read_keyframe(value: Any, path: str) -> str:
    text = read_number_text(value, path).lower()
    try:
        js.parse_keyframe(text)
    except ValueError as exc:
        raise field_error(path, str(exc)) from None
    return text


def _read_sample_rate(value: Any, path: str) -> int:
    rate = read_int(value, path, 1, 1_000_000)
    if rate not in js.AUDIO_SAMPLE_RATES:
        allowed = ", ".join(str(r) for r in sorted(js.AUDIO_SAMPLE_RATES))
        raise field_error(path, f"must be one of: {allowed}")
    return rate


_RENDITION_READERS: dict[str, Callable[[Any, str], Any]] = {
    "profile": lambda value, path: read_choice(value, path, ("baseline", "main", "high")),
    "two_pass": read_bool,
    "aspect_ratio": read_aspect_ratio,
    "rotate": read_rotate,
    "resize_mode": lambda value, path: read_choice(value, path, ("scale", "crop")),
    "pix_format": lambda value, path: read_choice(value, path, ALL_PIX_FORMATS),
    "deinterlace": read_bool,
    "framerate_limit": _read_framerate,
    "audio_mute": read_bool,
    "bitrate": lambda value, path: read_int(value, path, *js.VIDEO_KBPS),
    "framerate": _read_framerate,
    "keyframe": _read_keyframe,
    "audio_bitrate": lambda value, path: read_int(value, path, *js.AUDIO_KBPS),
    "audio_sample_rate": _read_sample_rate,
    "audio_channels_number": lambda value, path: read_int(value, path, *js.AUDIO_CHANNELS),
}
_MODEL_NAMES = {"audio_channels_number": "audio_channels"}

_IMAGE_READERS: dict[str, Callable[[Any, str], Any]] = {
    "time": lambda value, path: read_float(value, path, 0, 1),
    "frame_number": lambda value, path: read_int(value, path, 0, js.MAX_FRAME_NUMBER),
    "interval": lambda value, path: read_float(value, path, *js.THUMBNAIL_INTERVAL),
    "sprite": read_bool,
    "columns": lambda value, path: read_int(value, path, *js.SPRITE_COLUMNS),
    "quality": lambda value, path: read_int(value, path, *js.IMAGE_QUALITY),
}

KindReader = Callable[[OutputKind, Mapping[str, Any], str, Warnings], dict[str, Any]]
READERS: dict[OutputKind, KindReader] = {
    OutputKind.MP4: read_single_rendition,
    OutputKind.WEBM: read_single_rendition,
    OutputKind.ADVANCED_HLS: read_ladder,
    OutputKind.ADVANCED_DASH: read_ladder,
    OutputKind.WEBM_DASH: read_ladder,
    OutputKind.HLS_AUDIO: read_hls_audio,
    OutputKind.REPACK: read_repack,
    OutputKind.MP3: read_audio_only,
    OutputKind.FLAC: read_audio_only,
    OutputKind.THUMBNAIL: read_picture,
    OutputKind.THUMBNAILS: read_picture,
    OutputKind.GIF: read_picture,
    OutputKind.METADATA: read_metadata,
    OutputKind.VMAF: read_vmaf,
}
