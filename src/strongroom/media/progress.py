"""Turn ffmpeg ``-progress`` output into a percentage.

ffmpeg writes ``key=value`` lines and ends each block with ``progress=continue`` (or
``progress=end`` at the very end). ``out_time_us`` is the output position in microseconds; it
reads ``N/A`` before the first frame. Old builds misname microseconds ``out_time_ms``, so both
are read, then ``out_time=HH:MM:SS.ffffff`` as a last resort.
"""

from __future__ import annotations

import math


def parse_out_time(block: dict[str, str]) -> float | None:
    """Return the output position of one progress block in seconds, or None if not known."""
    for key in ("out_time_us", "out_time_ms"):
        value = block.get(key, "")
        if value.lstrip("-").isdigit():
            return max(0.0, int(value) / 1_000_000)
    return _clock_seconds(block.get("out_time", ""))


def _clock_seconds(text: str) -> float | None:
    hours, sep1, rest = text.partition(":")
    minutes, sep2, seconds = rest.partition(":")
    try:
        total = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return None
    return total if sep1 and sep2 and math.isfinite(total) and total >= 0 else None


class ProgressTracker:
    """Feed it raw ``-progress`` text; it reports a percentage once per completed block.

    The percentage is relative to ``expected_duration``, never decreases, stays below 100 until
    ffmpeg says ``progress=end``, and is exactly 100.0 then. ``position`` is the furthest
    output position seen, in seconds (for a decode check: how much actually decoded).
    """

    def __init__(self, expected_duration: float) -> None:
        self._expected = expected_duration
        self._pending = ""
        self._block: dict[str, str] = {}
        self.percent = 0.0
        self.position = 0.0
        self.finished = False

    def feed(self, text: str) -> list[float]:
        """Consume ``text`` (any chunking) and return the percentages of the blocks it ended."""
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        reports: list[float] = []
        for line in lines:
            key, sep, value = line.strip().partition("=")
            if not sep:
                continue
            self._block[key] = value
            if key == "progress":
                reports.append(self._end_block(value == "end"))
        return reports

    def _end_block(self, final: bool) -> float:
        position = parse_out_time(self._block)
        self._block = {}
        if position is not None:
            self.position = max(self.position, position)
        if final:
            self.finished = True
            self.percent = 100.0
        elif position is not None and self._expected > 0:
            # Cap below 100: only "progress=end" means the outputs are complete.
            self.percent = max(self.percent, min(99.9, 100.0 * position / self._expected))
        return self.percent
