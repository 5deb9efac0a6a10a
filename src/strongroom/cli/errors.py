"""Known failures the CLI reports as one plain line (anything else keeps its traceback)."""

from __future__ import annotations


class CommandFailed(Exception):
    """A command could not do its job; the message says why, for a person."""


def describe(exc: Exception) -> str | None:
    from strongroom.cli.init import SystemCheckFailed, WeakCertificate  # noqa: PLC0415
    from strongroom.edge.settings.env import ConfigError  # noqa: PLC0415

    if isinstance(exc, CommandFailed | ConfigError | WeakCertificate | SystemCheckFailed):
        return str(exc)
    return None
