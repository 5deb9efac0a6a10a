"""Parsing a single HTTP Range header (RFC 9110 §14) into a half-open byte span."""

from __future__ import annotations

import re

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(Exception):
    """The range lies outside the representation (answer 416)."""


def parse_range(header: str | None, size: int) -> tuple[int, int]:
    """[start, end) for `header`; the whole object when there is no (or an unsupported) range."""
    if not header:
        return 0, size
    match = _RANGE.match(header.strip())
    if not match or (not match[1] and not match[2]):
        return 0, size  # multi-range and other forms: serve the whole object (allowed by RFC 9110)
    if not match[1]:
        suffix = int(match[2])
        return max(0, size - suffix), size
    start = int(match[1])
    end = int(match[2]) + 1 if match[2] else size
    if start >= size or end <= start:
        raise RangeNotSatisfiable
    return start, min(end, size)
