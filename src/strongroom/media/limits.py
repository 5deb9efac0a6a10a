"""Resource and input limits for media processes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Limits applied to every ffmpeg/probe process and to every input.

    ``wall_seconds`` caps a process's wall-clock time; the rlimits (``cpu_seconds``,
    ``address_space``, ``file_size``, ``open_files``) are set in the child before exec. The
    input limits (``max_pixels`` per frame, ``max_duration`` seconds, ``max_streams``,
    ``max_input_bytes``) are checked after probing and, where ffmpeg can, again at decode time
    because container metadata can lie.
    """

    wall_seconds: float = 6 * 3600
    cpu_seconds: int = 12 * 3600
    address_space: int = 4 << 30
    file_size: int = 64 << 30
    open_files: int = 256
    max_pixels: int = 35_000_000
    max_duration: float = 4 * 3600
    max_streams: int = 8
    max_input_bytes: int = 64 << 30
