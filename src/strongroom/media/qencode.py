"""Translate a Qencode v1 ``start_encode2`` query into a ``JobSpec``.

Rules (see docs/qencode-api notes §5). Output types: mp4, webm, advanced_hls, advanced_dash,
webm_dash, hls_audio, repack, mp3, flac, thumbnail, thumbnails, gif, metadata, vmaf; the
per-kind readers are in ``qencode_outputs`` (video settings: ``qencode_video``; vmaf:
``qencode_vmaf``) and the field lists in ``qencode_fields``.

* The form field holds JSON text ``{"query": Q}``. Not JSON, or not an object: error 14
  (field ``query``). An object without the ``query`` wrapper: error 19 "query field is required".
* Unknown fields are refused (14), naming all of them. Fields Qencode documents but this version
  cannot honour yet (stitch, logo, DRM, other output types...) are
  refused with "... is not supported yet", never ignored; a field of another output kind
  (``interval`` on an mp4) is refused naming where it applies.
* A rule the readers don't word themselves (e.g. ``columns`` without ``sprite``) is caught by
  the ``JobSpec`` model and reported against ``format[i]``.
* Accepted and harmless: ``encoder_version`` 1 or 2 (we have one encoder), ``tag``/``user_tag``,
  and toggles whose value asks for our behaviour anyway: ``upscale``, ``retry_on_error``,
  ``use_subtask_callback``, ``refresh_playlist``, ``optimize_bitrate``, ``allow_soft_fail``
  and ``hdr_to_sdr`` at 0. Any other value of those is "not supported yet".
* A vmaf output's ``distorted`` names another output of the job by index (no URLs yet).
* ``libfdk_aac`` is served by ffmpeg's ``aac`` encoder and adds a warning.
* ``destination`` (s3:// only) is read by ``qencode_destination``: the ``JobSpec`` keeps the URL
  and options, the key and secret come back apart (``parse_start_encode2``) so they can be stored
  encrypted and never reach the spec, the status or a message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from strongroom.media import jobspec as js
from strongroom.media.destinations import DestinationCredentials
from strongroom.media.jobspec import JobSpec, OutputKind, OutputSpec
from strongroom.media.qencode_destination import read_destinations
from strongroom.media.qencode_fields import (
    TOP_FIELDS,
    TOP_LATER,
    check_fields,
    check_format_fields,
    names,
)
from strongroom.media.qencode_outputs import READERS, read_tag
from strongroom.media.qencode_values import (
    ERROR_FIELD,
    ERROR_QUERY_REQUIRED,
    QueryError,
    field_error,
    read_float,
    read_int,
    read_text,
)
from strongroom.media.qencode_vmaf import check_vmaf_references

__all__ = ["ParsedQuery", "QueryError", "parse_start_encode2", "parse_start_encode2_query"]

_OUTPUT_TYPES = {
    "speech_to_text",
    "hls",
    "dash",
}


# Destination credentials by (output index, destination position).
Credentials = dict[tuple[int, int], DestinationCredentials]


@dataclass(frozen=True)
class ParsedQuery:
    """A validated ``JobSpec`` and the destination credentials kept out of it."""

    spec: JobSpec
    credentials: Credentials = field(default_factory=dict, repr=False)


def parse_start_encode2_query(text: str) -> JobSpec:
    """Parse the ``query`` form field of ``start_encode2`` into a validated ``JobSpec``.

    Raises ``QueryError`` (code 14 or 19, client-safe message naming the field) for anything
    that is malformed, out of range, unknown, or not supported by this version.
    """
    return parse_start_encode2(text).spec


def parse_start_encode2(text: str) -> ParsedQuery:
    """``parse_start_encode2_query`` plus the destinations' credentials, returned apart."""
    query = _unwrap(_load_object(text))
    check_fields(query, "query", TOP_FIELDS, TOP_LATER)
    if "encoder_version" in query:
        read_int(query["encoder_version"], "encoder_version", 1, 2)
    source = _read_source(query.get("source"))
    callback_url = _read_callback_url(query.get("callback_url"))
    formats = _read_formats(query.get("format"))
    warnings: list[str] = []
    credentials: Credentials = {}
    outputs = [
        _read_format(index, item, warnings, credentials) for index, item in enumerate(formats)
    ]
    check_vmaf_references(outputs)
    try:
        spec = JobSpec(source=source, outputs=outputs, warnings=warnings, callback_url=callback_url)
        return ParsedQuery(spec, credentials)
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
        raise QueryError(ERROR_FIELD, f"unknown field(s): {names(extra)}", "query")
    inner = outer["query"]
    if not isinstance(inner, dict):
        raise QueryError(ERROR_FIELD, "query must be a JSON object", "query")
    return inner


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


def _read_format(
    index: int, item: dict[str, Any], warnings: list[str], credentials: Credentials
) -> OutputSpec:
    path = f"format[{index}]"
    if "output" not in item:
        raise QueryError(ERROR_FIELD, f"{path}.output is required", f"{path}.output")
    kind = _read_output_kind(item["output"], f"{path}.output")
    check_format_fields(item, path, kind)
    fields: dict[str, Any] = {"index": index, "kind": kind, "user_tag": read_tag(item, path)}
    destinations, secrets = read_destinations(item, path)
    fields["destinations"] = destinations
    credentials.update({(index, position): pair for position, pair in enumerate(secrets)})
    fields.update(_read_clip(item, path))
    fields.update(READERS[kind](kind, item, path, warnings))
    try:
        return OutputSpec.model_validate(fields)
    except ValidationError as exc:
        # The readers check every rule first; this is the model's own backstop, worded safely.
        problem = str(exc.errors()[0].get("msg", "is not valid")).removeprefix("Value error, ")
        raise field_error(path, problem) from None


def _read_output_kind(value: Any, path: str) -> OutputKind:
    text = value.lower() if isinstance(value, str) else ""
    if text in set(OutputKind):
        return OutputKind(text)
    if text in _OUTPUT_TYPES:
        supported = ", ".join(kind.value for kind in OutputKind)
        raise field_error(path, f"{text} is not supported yet (supported: {supported})")
    raise field_error(path, "is not a known output type")


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
