"""A one-line progress bar that also behaves in logs (no carriage returns when not a terminal)."""

from __future__ import annotations

from typing import TextIO

WIDTH = 30


class ProgressBar:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last: tuple[str, int] | None = None

    def update(self, label: str, percent: float) -> None:
        step = int(percent)
        if not self.tty and self.last and (self.last[0] == label and step - self.last[1] < 10):
            return
        self.last = (label, step)
        filled = int(WIDTH * min(max(percent, 0.0), 100.0) / 100)
        line = f"[{'#' * filled}{'.' * (WIDTH - filled)}] {percent:5.1f}% {label}"
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
