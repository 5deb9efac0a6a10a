"""Object key validation: the only shape of name any store accepts.

Keys are relative, `/`-separated names of `[A-Za-z0-9._-]` segments, with no empty, `.` or
`..` segment and at most 512 characters. Because every backend maps keys to paths or URLs,
this check is what makes path traversal impossible; it runs before any disk or network I/O.
"""

from __future__ import annotations

import re

MAX_KEY_LENGTH = 512
_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")


class InvalidObjectKey(ValueError):
    """The key is not a valid object key. The message says why, without echoing the key."""


def _check_segments(key: str) -> None:
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidObjectKey("object key has an empty, '.' or '..' segment")
        if _SEGMENT.fullmatch(segment) is None:
            raise InvalidObjectKey("object key may only contain A-Z, a-z, 0-9, '.', '_', '-', '/'")


def validate_key(key: str) -> str:
    """Return `key` unchanged if it is a valid object key; InvalidObjectKey otherwise."""
    if not isinstance(key, str) or not key:
        raise InvalidObjectKey("object key must be a non-empty string")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidObjectKey(f"object key is longer than {MAX_KEY_LENGTH} characters")
    _check_segments(key)
    return key


def validate_prefix(prefix: str) -> str:
    """Return `prefix` without a trailing "/" if it is "" or a valid key; else InvalidObjectKey."""
    if prefix == "":
        return ""
    return validate_key(prefix[:-1] if prefix.endswith("/") else prefix)


def is_valid_key(key: str) -> bool:
    """Whether `key` passes `validate_key`."""
    try:
        validate_key(key)
    except InvalidObjectKey:
        return False
    return True
