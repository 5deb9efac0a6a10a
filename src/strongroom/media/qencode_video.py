"""Readers of a rendition's video settings: ``video_codec_parameters`` and the picture fields.

Split from ``qencode_outputs`` (which assembles a rendition from them); each failure is a
code-14 ``QueryError`` naming the field's path, as everywhere in the Qencode readers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strongroom.media.codec_params import ALLOWED, MAX_PARAMS, check_param
from strongroom.media.jobspec import OutputKind, Rendition
from strongroom.media.output_kinds import LADDER_KINDS, default_video_codec
from strongroom.media.picture_rules import ROTATIONS, parse_aspect_ratio, pix_format_problem
from strongroom.media.qencode_values import field_error, read_int, read_number_text


def read_codec_parameters(codec: str | None, value: Any, path: str) -> tuple[tuple[str, str], ...]:
    """Check ``video_codec_parameters`` for ``codec`` (sorted, canonical values)."""
    if not isinstance(value, dict):
        raise field_error(path, "must be an object")
    if len(value) > MAX_PARAMS:
        raise field_error(path, f"must have at most {MAX_PARAMS} entries")
    checked = []
    for key, item in value.items():
        try:
            checked.append((key, check_param(codec or "", key, item)))
        except ValueError as exc:
            where = f"{path}.{key[:64]}" if codec in ALLOWED and key in ALLOWED[codec] else path
            raise field_error(where, str(exc)) from None
    return tuple(sorted(checked))


def read_aspect_ratio(value: Any, path: str) -> str:
    """``aspect_ratio`` as "16:9" or a ratio such as 1.78 (numbers are taken as ratios)."""
    text = read_number_text(value, path)
    try:
        parse_aspect_ratio(text)
    except ValueError as exc:
        raise field_error(path, str(exc)) from None
    return text


def read_rotate(value: Any, path: str) -> int:
    """``rotate``: 0, 90, 180 or 270 (clockwise)."""
    degrees = read_int(value, path, 0, 270)
    if degrees not in ROTATIONS:
        raise field_error(path, "must be one of: 0, 90, 180, 270")
    return degrees


def check_pix_format(kind: OutputKind, fields: Mapping[str, Any], path: str) -> None:
    """Refuse a ``pix_format`` the rendition's encoder (or a ladder) can't take."""
    codec = fields.get("video_codec") or default_video_codec(kind) or ""
    problem = pix_format_problem(
        codec,
        fields["pix_format"],
        ladder=kind in LADDER_KINDS,
        profile=fields.get("profile", Rendition().profile),
    )
    if problem is not None:
        raise field_error(f"{path}.pix_format", problem)
