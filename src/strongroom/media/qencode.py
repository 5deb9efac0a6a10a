"""Translate a Qencode v1 ``start_encode2`` query into a ``JobSpec``.

Rules (see docs/qencode-api notes §5):

* The form field holds JSON text ``{"query": Q}``. Not JSON, or not an object: error 14
  (field ``query``). An object without the ``query`` wrapper: error 19 "query field is required".
* Unknown fields are refused (14), naming all of them. Fields Qencode documents but this version
  cannot honour yet (stitch, destination, logo, DRM, other output types...) are
  refused with "... is not supported yet", never ignored.
* Accepted and harmless: ``encoder_version`` 1 or 2 (we have one encoder), ``tag``/``user_tag``,
  and toggles whose value asks for our behaviour anyway: ``upscale``, ``retry_on_error``,
  ``use_subtask_callback``, ``refresh_playlist``, ``two_pass``, ``optimize_bitrate``,
  ``allow_soft_fail``, ``fmp4``, ``single_folder``, ``i_frames_only``, ``deinterlace``,
  ``hdr_to_sdr``, ``audio_mute`` at 0, ``pix_format`` "yuv420p" and ``resize_mode`` "scale".
  Any other value of those is "not supported yet".
* ``libfdk_aac`` is served by ffmpeg's ``aac`` encoder and adds a warning.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from strongroom.media import jobspec as js
from strongroom.media.jobspec import JobSpec, OutputKind, OutputSpec, Rendition
from strongroom.media.qencode_values import (
    ERROR_FIELD,
    ERROR_QUERY_REQUIRED,
    QueryError,
    field_error,
    read_bool,
    read_choice,
    read_float,
    read_int,
    read_number_text,
    read_size,
    read_text,
)

__all__ = ["QueryError", "parse_start_encode2_query"]

_OUTPUT_TYPES = {
    "webm",
    "advanced_dash",
    "webm_dash",
    "repack",
    "mp3",
    "hls_audio",
    "flac",
    "gif",
    "thumbnail",
    "thumbnails",
    "metadata",
    "speech_to_text",
    "vmaf",
    "hls",
    "dash",
}
_VIDEO_CODECS_LATER = {"libx265", "libvpx", "libvpx-vp9", "libsvtav1", "lcevc_h264", "lcevc_hevc"}
_AUDIO_CODECS_LATER = {"libvorbis", "mp3", "libopus"}

# Documented toggles accepted only at the value that matches what we do anyway.
_DEFAULT_ONLY: dict[str, tuple[object, ...]] = {
    "upscale": (0, "0"),
    "retry_on_error": (0, "0"),
    "use_subtask_callback": (0, "0"),
    "refresh_playlist": (0, "0"),
    "two_pass": (0, "0"),
    "optimize_bitrate": (0, "0"),
    "allow_soft_fail": (0, "0"),
    "fmp4": (0, "0"),
    "single_folder": (0, "0"),
    "i_frames_only": (0, "0"),
    "deinterlace": (0, "0"),
    "hdr_to_sdr": (0, "0"),
    "audio_mute": (0, "0"),
    "pix_format": ("yuv420p",),
    "resize_mode": ("scale",),
}
_TOP_FIELDS = {"source", "format", "encoder_version", "callback_url"}
_TOP_LATER = {
    "stitch",
    "upscale",
    "retry_on_error",
    "use_subtask_callback",
    "refresh_playlist",
}
_RENDITION_FIELDS = {
    "size",
    "width",
    "height",
    "resolution",
    "video_codec",
    "profile",
    "quality",
    "bitrate",
    "framerate",
    "keyframe",
    "audio_codec",
    "audio_bitrate",
    "audio_sample_rate",
    "audio_channels_number",
    "tag",
    "user_tag",
}
_HLS_FIELDS = {"stream", "segment_duration", "playlist_name", "separate_audio"}
_FORMAT_COMMON = {"output", "start_time", "duration", "tag", "user_tag"}
_FORMAT_LATER = {
    "destination",
    "logo",
    "is_watermark",
    "subtitles",
    "subtitles_copy",
    "encryption",
    "cenc_drm",
    "fps_drm",
    "buydrm_drm",
    "optimize_bitrate",
    "min_crf",
    "max_crf",
    "adjust_crf",
    "two_pass",
    "video_codec_parameters",
    "aspect_ratio",
    "rotate",
    "resize_mode",
    "pix_format",
    "deinterlace",
    "hdr_to_sdr",
    "color_space",
    "color_range",
    "color_trc",
    "color_primaries",
    "framerate_limit",
    "audio_mute",
    "audio_pan",
    "downmix_mode",
    "file_extension",
    "tag_video",
    "fmp4",
    "single_folder",
    "i_frames_only",
    "create_m3u8_playlist",
    "packager_version",
    "incremental_tag",
    "chunklist_name",
    "allow_soft_fail",
    "metadata_version",
    "keep_360_metadata",
    "inject_360_metadata",
    "audio_copy",
    "video_copy",
    "metadata_copy",
    "time",
    "frame_number",
    "interval",
    "image_format",
    "sprite",
    "columns",
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
    "distorted",
    "vmaf_model",
    "n_subsample",
    "shortest",
}
_STREAM_LATER = _FORMAT_LATER | {"start_time", "duration", "segment_duration"}


def parse_start_encode2_query(text: str) -> JobSpec:
    """Parse the ``query`` form field of ``start_encode2`` into a validated ``JobSpec``.

    Raises ``QueryError`` (code 14 or 19, client-safe message naming the field) for anything
    that is malformed, out of range, unknown, or not supported by this version.
    """
    query = _unwrap(_load_object(text))
    _check_fields(query, "query", _TOP_FIELDS, _TOP_LATER)
    if "encoder_version" in query:
        read_int(query["encoder_version"], "encoder_version", 1, 2)
    source = _read_source(query.get("source"))
    callback_url = _read_callback_url(query.get("callback_url"))
    formats = _read_formats(query.get("format"))
    warnings: list[str] = []
    outputs = [_read_format(index, item, warnings) for index, item in enumerate(formats)]
    try:
        return JobSpec(source=source, outputs=outputs, warnings=warnings, callback_url=callback_url)
    except ValidationError as exc:
        # The readers above check every rule first; this is the model's own backstop.
        raise QueryError(ERROR_FIELD, "query is not valid", "query") from exc


def _load_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (ValueError, RecursionError, TypeError) as exc:
        message = str(exc) if isinstance(exc, _DuplicateFieldError) else "query must be JSON text"
        raise QueryError(ERROR_FIELD, message, "query") from None
    if not isinstance(value, dict):
        raise QueryError(ERROR_FIELD, "query must be a JSON object", "query")
    return value


class _DuplicateFieldError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two parsers can disagree about which duplicate wins; refuse the ambiguity instead.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateFieldError(f"query has a duplicate field: {key[:64]}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _unwrap(outer: dict[str, Any]) -> dict[str, Any]:
    if "query" not in outer:
        raise QueryError(ERROR_QUERY_REQUIRED, "query field is required", "query")
    extra = [key for key in outer if key != "query"]
    if extra:
        raise QueryError(ERROR_FIELD, f"unknown field(s): {_names(extra)}", "query")
    inner = outer["query"]
    if not isinstance(inner, dict):
        raise QueryError(ERROR_FIELD, "query must be a JSON object", "query")
    return inner


def _names(keys: list[str]) -> str:
    return ", ".join(key[:64] for key in keys[:20])


def _check_fields(obj: Mapping[str, Any], path: str, known: set[str], later: set[str]) -> None:
    """Refuse unknown fields, then documented fields this version can't honour."""
    unknown = [key for key in obj if key not in known and key not in later]
    if unknown:
        raise QueryError(ERROR_FIELD, f"{path}: unknown field(s): {_names(unknown)}", path)
    refused = [key for key in obj if key in later and not _is_default(key, obj[key])]
    if refused:
        verb = "is" if len(refused) == 1 else "are"
        where = f"{path}.{refused[0]}" if len(refused) == 1 else path
        message = f"{path}: {_names(refused)} {verb} not supported yet"
        raise QueryError(ERROR_FIELD, message, where)


def _is_default(key: str, value: Any) -> bool:
    allowed = _DEFAULT_ONLY.get(key, ())
    return not isinstance(value, bool | float) and value in allowed


def _read_source(value: Any) -> str:
    if value is None or value == "":
        raise QueryError(ERROR_FIELD, "source is required", "source")
    text = read_text(value, "source", js.MAX_SOURCE_CHARS)
    scheme = text.split(":", 1)[0].lower()
    if scheme in {"s3", "b2", "azblob", "ftp", "ftps", "sftp", "gs"}:
        raise field_error("source", f"{scheme} URLs are not supported yet")
    try:
        return js.check_source(text)
    except ValueError as exc:
        raise field_error("source", str(exc)) from None


def _read_callback_url(value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = read_text(value, "callback_url", js.MAX_SOURCE_CHARS)
    try:
        return js.check_callback_url(text)
    except ValueError as exc:
        raise field_error("callback_url", str(exc)) from None


def _read_formats(value: Any) -> list[dict[str, Any]]:
    if value is None or value == []:
        raise QueryError(ERROR_FIELD, "format is required", "format")
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise field_error("format", "must be a list of objects")
    if len(value) > js.MAX_OUTPUTS:
        raise field_error("format", f"must have at most {js.MAX_OUTPUTS} entries")
    return value


def _read_format(index: int, item: dict[str, Any], warnings: list[str]) -> OutputSpec:
    path = f"format[{index}]"
    if "output" not in item:
        raise QueryError(ERROR_FIELD, f"{path}.output is required", f"{path}.output")
    kind = _read_output_kind(item["output"], f"{path}.output")
    own = _RENDITION_FIELDS if kind is OutputKind.MP4 else _HLS_FIELDS
    _check_misplaced(item, path, kind)
    _check_fields(item, path, _FORMAT_COMMON | own, _FORMAT_LATER)
    fields: dict[str, Any] = {"index": index, "kind": kind, "user_tag": _read_tag(item, path)}
    fields.update(_read_clip(item, path))
    if kind is OutputKind.MP4:
        fields["renditions"] = [_read_rendition(item, path, warnings)]
    else:
        fields.update(_read_hls(item, path, warnings))
    return OutputSpec.model_validate(fields)


def _read_output_kind(value: Any, path: str) -> OutputKind:
    text = value.lower() if isinstance(value, str) else ""
    if text in set(OutputKind):
        return OutputKind(text)
    if text in _OUTPUT_TYPES:
        supported = ", ".join(kind.value for kind in OutputKind)
        raise field_error(path, f"{text} is not supported yet (supported: {supported})")
    raise field_error(path, "is not a known output type")


def _check_misplaced(item: Mapping[str, Any], path: str, kind: OutputKind) -> None:
    if kind is OutputKind.MP4:
        wrong = [key for key in item if key in _HLS_FIELDS]
        problem = "applies to advanced_hls outputs only"
    else:
        wrong = [key for key in item if key in _RENDITION_FIELDS - {"tag", "user_tag"}]
        problem = "must be set on each stream[] entry of an advanced_hls output"
    if wrong:
        raise field_error(f"{path}.{wrong[0]}", problem)


def _read_clip(item: Mapping[str, Any], path: str) -> dict[str, float]:
    clip: dict[str, float] = {}
    if "start_time" in item:
        clip["start_time"] = read_float(
            item["start_time"], f"{path}.start_time", 0, js.MAX_CLIP_SECONDS
        )
    if "duration" in item:
        clip["duration"] = read_float(item["duration"], f"{path}.duration", 0, js.MAX_CLIP_SECONDS)
        if clip["duration"] == 0:
            raise field_error(f"{path}.duration", "must be above 0")
    return clip


def _read_tag(item: Mapping[str, Any], path: str) -> str | None:
    key = "tag" if "tag" in item else "user_tag" if "user_tag" in item else None
    return read_text(item[key], f"{path}.{key}", js.MAX_TAG_CHARS) if key else None


def _read_hls(item: Mapping[str, Any], path: str, warnings: list[str]) -> dict[str, Any]:
    streams = item.get("stream")
    if not isinstance(streams, list) or not streams:
        raise field_error(f"{path}.stream", "must be a non-empty list of objects")
    if len(streams) > js.MAX_STREAMS:
        raise field_error(f"{path}.stream", f"must have at most {js.MAX_STREAMS} entries")
    renditions = [
        _read_stream(stream, f"{path}.stream[{n}]", warnings) for n, stream in enumerate(streams)
    ]
    fields: dict[str, Any] = {"renditions": renditions}
    if "segment_duration" in item:
        fields["segment_duration"] = read_int(
            item["segment_duration"], f"{path}.segment_duration", *js.SEGMENT_SECONDS
        )
    if "playlist_name" in item:
        fields["playlist_name"] = _read_playlist_name(
            item["playlist_name"], f"{path}.playlist_name"
        )
    if "separate_audio" in item:
        fields["separate_audio"] = read_bool(item["separate_audio"], f"{path}.separate_audio")
    return fields


def _read_stream(stream: Any, path: str, warnings: list[str]) -> Rendition:
    if not isinstance(stream, dict):
        raise field_error(path, "must be an object")
    _check_fields(stream, path, _RENDITION_FIELDS, _STREAM_LATER)
    return _read_rendition(stream, path, warnings)


def _read_playlist_name(value: Any, path: str) -> str:
    text = read_text(value, path, 104)
    try:
        OutputSpec.model_validate(
            {"index": 0, "kind": "advanced_hls", "playlist_name": text, "renditions": [{}]}
        )
    except ValidationError:
        raise field_error(path, "must be a plain file name ending in .m3u8") from None
    return text


def _read_rendition(item: Mapping[str, Any], path: str, warnings: list[str]) -> Rendition:
    fields: dict[str, Any] = {}
    fields.update(_read_frame_size(item, path))
    for key, reader in _RENDITION_READERS.items():
        if key in item:
            fields[_MODEL_NAMES.get(key, key)] = reader(item[key], f"{path}.{key}")
    if "audio_codec" in item:
        fields["audio_codec"] = _read_audio_codec(item["audio_codec"], path, warnings)
    fields["user_tag"] = _read_tag(item, path)
    return Rendition.model_validate(fields)


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


def _read_video_codec(value: Any, path: str) -> str:
    if isinstance(value, str) and value.lower() in _VIDEO_CODECS_LATER:
        raise field_error(path, f"{value.lower()} is not supported yet (supported: libx264)")
    return read_choice(value, path, ("libx264",))


def _read_audio_codec(value: Any, path: str, warnings: list[str]) -> str:
    where = f"{path}.audio_codec"
    text = value.lower() if isinstance(value, str) else value
    if text == "libfdk_aac":
        warnings.append(f"{where}: libfdk_aac is served by the aac encoder")
        return "aac"
    if text in _AUDIO_CODECS_LATER:
        raise field_error(where, f"{text} is not supported yet (supported: aac, libfdk_aac)")
    return read_choice(value, where, ("aac",))


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
    "video_codec": _read_video_codec,
    "profile": lambda value, path: read_choice(value, path, ("baseline", "main", "high")),
    "quality": lambda value, path: read_int(value, path, *js.CRF),
    "bitrate": lambda value, path: read_int(value, path, *js.VIDEO_KBPS),
    "framerate": _read_framerate,
    "keyframe": _read_keyframe,
    "audio_bitrate": lambda value, path: read_int(value, path, *js.AUDIO_KBPS),
    "audio_sample_rate": _read_sample_rate,
    "audio_channels_number": lambda value, path: read_int(value, path, *js.AUDIO_CHANNELS),
}
_MODEL_NAMES = {"audio_channels_number": "audio_channels"}
