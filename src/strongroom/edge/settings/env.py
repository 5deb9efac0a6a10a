"""Typed, strict readers for the 12-factor configuration (environment + optional TOML file).

Operator mistakes must fail at start-up with a clear message, not at 3 a.m.: unknown boolean
spellings raise, numbers are range-checked, and every secret can also come from `NAME_FILE`
(a `_FILE` that cannot be read is an error, never a silent fallback).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

PREFIX = "STRONGROOM_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message names the variable."""


class Env:
    """Reads `STRONGROOM_*` values from the environment, then from the TOML file, then defaults."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = dict(os.environ if environ is None else environ)
        self.file_values = _load_toml(self.environ.get(PREFIX + "CONFIG"))

    def raw(self, name: str) -> str | None:
        full = PREFIX + name
        if full in self.environ:
            return self.environ[full]
        value = self.file_values.get(name.lower())
        return None if value is None else str(value)

    def str(self, name: str, default: str) -> str:
        value = self.raw(name)
        return default if value is None or value == "" else value

    def bool(self, name: str, *, default: bool) -> bool:
        value = self.raw(name)
        if value is None or value == "":
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ConfigError(f"{PREFIX}{name} must be one of {sorted(_TRUE | _FALSE)}, not {value!r}")

    def int(self, name: str, default: int, *, minimum: int = 0, maximum: int = 2**62) -> int:
        value = self.raw(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            raise ConfigError(f"{PREFIX}{name} must be a whole number, not {value!r}") from None
        if not minimum <= number <= maximum:
            raise ConfigError(f"{PREFIX}{name} must be between {minimum} and {maximum}")
        return number

    def float(self, name: str, default: float, *, minimum: float, maximum: float) -> float:
        value = self.raw(name)
        if value is None or value == "":
            return default
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"{PREFIX}{name} must be a number, not {value!r}") from None
        if not minimum <= number <= maximum:  # also refuses NaN
            raise ConfigError(f"{PREFIX}{name} must be between {minimum} and {maximum}")
        return number

    def list(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.raw(name)
        if value is None or value.strip() == "":
            return default
        return tuple(part.strip() for part in value.split(",") if part.strip())

    def secret(self, name: str) -> str | None:
        """A secret from `STRONGROOM_<NAME>` or the file named by `STRONGROOM_<NAME>_FILE`."""
        file_name = self.raw(name + "_FILE")
        if file_name:
            try:
                return Path(file_name).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{PREFIX}{name}_FILE cannot be read ({exc.strerror})") from None
        return self.raw(name)

    def plain(self, name: str) -> str | None:
        """A variable without the prefix (DATABASE_URL, REDIS_URL), as 12-factor tools set them."""
        return self.environ.get(name) or None


def _load_toml(path: str | None) -> dict[str, object]:
    if not path:
        return {}
    try:
        with Path(path).open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{PREFIX}CONFIG file cannot be read: {exc}") from None
    return {str(key).lower(): value for key, value in data.items()}
