"""Value readers for the Qencode v1 query: lenient about form, strict about meaning.

Qencode clients send numbers as JSON numbers or as strings ("300", "0.5") and booleans as 0/1
or "0"/"1", so every reader accepts those forms. Each failure is a ``QueryError`` (code 14) whose
message names the field's path, e.g. ``format[1].stream[0].bitrate must be 1-100000``
(written with an en dash).
"""

from __future__ import annotations

import math
import re
from typing import Any

ERROR_FIELD = 14
ERROR_QUERY_REQUIRED = 19

# Ranges in messages read "1\u2013100000" (en dash), as in Qencode's own documentation.
RANGE_DASH = "\u2013"
_INT_TEXT = re.compile(r"^[+-]?\d{1,12}(\.0*)?$")
_FLOAT_TEXT = re.compile(r"^[+-]?(\d{1,12}(\.\d{0,9})?|\.\d{1,9})$")


class QueryError(Exception):
    """A start_encode2 query was refused.

    ``code`` is the Qencode error number (14 for field errors, 19 for a missing ``query``
    wrapper), ``field`` the path of the offending field when there is one, and ``message`` a
    client-safe sentence.
    """

    def __init__(self, code: int, message: str, field: str | None = None) -> None:
        self.code = code
        self.message = message
        self.field = field
        super().__init__(message)


def field_error(path: str, problem: str) -> QueryError:
    """Return the code-14 error for ``path`` with the message ``"<path> <problem>"``."""
    return QueryError(ERROR_FIELD, f"{path} {problem}", path)


def read_int(value: Any, path: str, low: int, high: int) -> int:
    """Read an integer given as a number or a string and check ``low <= value <= high``."""
    number: int | None = None
    if isinstance(value, bool):
        number = None  # True/False are not counts; refuse them rather than read 1/0.
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INT_TEXT.match(value.strip()):
        number = int(float(value.strip()))
    if number is None:
        raise field_error(path, "must be a whole number")
    if not low <= number <= high:
        raise field_error(path, f"must be {low}{RANGE_DASH}{high}")
    return number


def read_float(value: Any, path: str, low: float, high: float) -> float:
    """Read a finite decimal given as a number or a string and check ``low <= value <= high``."""
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and _FLOAT_TEXT.match(value.strip()):
        number = float(value.strip())
    if number is None or not math.isfinite(number):
        raise field_error(path, "must be a number")
    if not low <= number <= high:
        raise field_error(path, f"must be {low:g}{RANGE_DASH}{high:g}")
    return number


def read_bool(value: Any, path: str) -> bool:
    """Read a flag given as true/false, 0/1 or "0"/"1"."""
    if isinstance(value, bool):
        return value
    if value in (0, 1, "0", "1") and not isinstance(value, float):
        return value in (1, "1")
    raise field_error(path, "must be 0 or 1")


def read_text(value: Any, path: str, max_chars: int) -> str:
    """Read a non-empty string of at most ``max_chars`` characters without control characters."""
    if not isinstance(value, str) or not value:
        raise field_error(path, "must be a non-empty string")
    if len(value) > max_chars:
        raise field_error(path, f"must be at most {max_chars} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise field_error(path, "must not contain control characters")
    return value


def read_number_text(value: Any, path: str) -> str:
    """Read a value that Qencode documents as a string but clients often send as a number."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise field_error(path, "must be a number")
        return format(value, "g") if isinstance(value, float) else str(value)
    return read_text(value, path, 32).strip()


def read_choice(value: Any, path: str, allowed: tuple[str, ...]) -> str:
    """Read a string that must be one of ``allowed`` (compared case-insensitively)."""
    text = value.lower() if isinstance(value, str) else None
    if text is None or text not in allowed:
        raise field_error(path, f"must be one of: {', '.join(allowed)}")
    return text


def read_size(value: Any, path: str) -> tuple[int, int]:
    """Read a "WxH" frame size into ``(width, height)``; range checks are the caller's."""
    if isinstance(value, str):
        width, sep, height = value.strip().lower().partition("x")
        if sep and width.isdigit() and height.isdigit() and len(width + height) <= 10:
            return int(width), int(height)
    raise field_error(path, 'must be "<width>x<height>", e.g. "1280x720"')
