"""Read a Qencode ``format[].destination`` (an object or an array of objects, §5.7).

Each destination gives ``url`` (``s3://``, see ``strongroom.media.destinations``), ``key`` and
``secret`` (required), and optionally ``permissions`` (a canned ACL), ``cache_control`` and
``storage_class``. ``""`` (the legacy "temporary storage") means no destination. The legacy
bare-string URL with credentials inside is refused: such URLs end up in logs.

Messages name the field's path and never contain the URL, the key or the secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strongroom.media import destinations as dst
from strongroom.media.destinations import DestinationCredentials, DestinationSpec
from strongroom.media.qencode_values import field_error, read_choice

_FIELDS = {"url", "key", "secret", "permissions", "cache_control", "storage_class"}
_LATER = {"is_passive", "use_tls", "tcp_port", "udp_port"}  # FTP and Aspera options

Read = tuple[list[DestinationSpec], list[DestinationCredentials]]


def read_destinations(item: Mapping[str, Any], path: str) -> Read:
    """The destinations of one ``format[]`` entry and their credentials, in the same order."""
    where = f"{path}.destination"
    value = item.get("destination")
    if value is None or value == "":
        return [], []
    if isinstance(value, str):
        raise field_error(where, "must be an object with url, key and secret")
    entries = value if isinstance(value, list) else [value]
    if not entries or not all(isinstance(entry, dict) for entry in entries):
        raise field_error(where, "must be an object or a non-empty list of objects")
    if len(entries) > dst.MAX_DESTINATIONS:
        raise field_error(where, f"must have at most {dst.MAX_DESTINATIONS} entries")
    specs: list[DestinationSpec] = []
    secrets: list[DestinationCredentials] = []
    for position, entry in enumerate(entries):
        entry_path = f"{where}[{position}]" if isinstance(value, list) else where
        spec, credentials = _read_one(entry, entry_path)
        specs.append(spec)
        secrets.append(credentials)
    return specs, secrets


def _read_one(
    entry: Mapping[str, Any], path: str
) -> tuple[DestinationSpec, DestinationCredentials]:
    unknown = sorted(key[:64] for key in entry if key not in _FIELDS | _LATER)
    if unknown:
        raise field_error(path, f"has unknown field(s): {', '.join(unknown[:20])}")
    later = sorted(key for key in entry if key in _LATER)
    if later:
        raise field_error(f"{path}.{later[0]}", "is not supported yet (FTP and Aspera options)")
    url = _read_url(entry.get("url"), f"{path}.url")
    credentials = DestinationCredentials(
        access_key=_read_secret(entry.get("key"), f"{path}.key", dst.MAX_KEY_ID_CHARS),
        secret_key=_read_secret(entry.get("secret"), f"{path}.secret", dst.MAX_SECRET_CHARS),
    )
    fields: dict[str, str] = {"url": url}
    if entry.get("permissions") not in (None, ""):
        fields["permissions"] = read_choice(
            entry["permissions"], f"{path}.permissions", dst.PERMISSIONS
        )
    if entry.get("storage_class") not in (None, ""):
        fields["storage_class"] = _read_storage_class(
            entry["storage_class"], f"{path}.storage_class"
        )
    if entry.get("cache_control") not in (None, ""):
        fields["cache_control"] = _read_cache_control(
            entry["cache_control"], f"{path}.cache_control"
        )
    return DestinationSpec.model_validate(fields), credentials


def _read_url(value: Any, path: str) -> str:
    if value is None or value == "":
        raise field_error(path, "is required")
    if not isinstance(value, str):
        raise field_error(path, "must be a string")
    try:
        dst.parse_s3_url(value)
    except ValueError as exc:
        raise field_error(path, str(exc)) from None
    return value


def _read_secret(value: Any, path: str, max_chars: int) -> str:
    # Never echo the value: this is the access key id or the secret.
    if value is None or value == "":
        raise field_error(path, "is required")
    if not isinstance(value, str):
        raise field_error(path, "must be a string")
    try:
        return dst.check_credential(value, max_chars)
    except ValueError as exc:
        raise field_error(path, str(exc)) from None


def _read_cache_control(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise field_error(path, "must be a string")
    try:
        return dst.check_cache_control(value.strip())
    except ValueError as exc:
        raise field_error(path, str(exc)) from None


def _read_storage_class(value: Any, path: str) -> str:
    text = value.upper() if isinstance(value, str) else None
    if text not in dst.STORAGE_CLASSES:
        raise field_error(path, f"must be one of: {', '.join(dst.STORAGE_CLASSES)}")
    return text
