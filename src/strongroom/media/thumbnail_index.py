"""The WebVTT index of a ``thumbnails`` output (``thumbnails.vtt``): write it, read it back.

One cue per thumbnail, from ``n * interval`` to the next one (the last ends with the clip),
whose text is the picture's file name, or for sprites the sheet's name with a media fragment
``#xywh=x,y,w,h`` selecting the cell (the form players' thumbnail tracks use).

Written here rather than with a library: we only ever emit cues of this one shape, and the
reader is a strict check of our own file (times ordered, targets plain relative names inside
the output) that a general WebVTT parser would be far more lenient about.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from strongroom.media.errors import VerificationError
from strongroom.media.picture_plan import PlannedPictures

_TIMING = re.compile(
    r"^(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3}) --> (\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})$"
)
_TARGET = re.compile(r"^([A-Za-z0-9_]+\.[a-z]{3,4})(#xywh=(\d+),(\d+),(\d+),(\d+))?$")


@dataclass(frozen=True)
class Cue:
    """One index entry: ``[start, end)`` seconds -> ``file`` (and its ``region`` x, y, w, h)."""

    start: float
    end: float
    file: str
    region: tuple[int, int, int, int] | None


def index_cues(pictures: PlannedPictures, count: int, duration: float) -> list[Cue]:
    """The cues for ``count`` thumbnails of a clip of ``duration`` seconds."""
    interval = pictures.interval or duration
    cues = []
    for n in range(count):
        start = n * interval
        end = min(start + interval, duration) if start < duration else start + interval
        cues.append(Cue(start, end, *_target(pictures, n)))
    return cues


def _target(pictures: PlannedPictures, n: int) -> tuple[str, tuple[int, int, int, int] | None]:
    if not pictures.sprite:
        return pictures.file_name % (n + 1), None
    per_sheet = pictures.columns * pictures.rows
    cell = n % per_sheet
    x = (cell % pictures.columns) * pictures.width
    y = (cell // pictures.columns) * pictures.height
    return pictures.file_name % (n // per_sheet + 1), (x, y, pictures.width, pictures.height)


def write_index(cues: list[Cue]) -> str:
    """The WebVTT text for ``cues``."""
    blocks = ["WEBVTT"]
    for cue in cues:
        target = cue.file
        if cue.region is not None:
            target += "#xywh={},{},{},{}".format(*cue.region)
        blocks.append(f"{_clock(cue.start)} --> {_clock(cue.end)}\n{target}")
    return "\n\n".join(blocks) + "\n"


def _clock(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    return f"{hours:02d}:{minutes:02d}:{millis // 1000:02d}.{millis % 1000:03d}"


def parse_index(text: str) -> list[Cue]:
    """Read an index back; ``VerificationError`` unless it is well formed and ordered."""
    blocks = [block.strip() for block in text.replace("\r\n", "\n").split("\n\n") if block.strip()]
    if not blocks or blocks[0] != "WEBVTT":
        raise _bad("missing WEBVTT header")
    cues = [_cue(block) for block in blocks[1:]]
    for before, after in itertools.pairwise(cues):
        if after.start < before.start:
            raise _bad("cues out of order")
    return cues


def _cue(block: str) -> Cue:
    lines = block.split("\n")
    timing = _TIMING.match(lines[0])
    target = _TARGET.match(lines[1]) if len(lines) == 2 else None
    if timing is None or target is None:
        raise _bad("malformed cue")
    numbers = [int(part) for part in timing.groups()]
    start = numbers[0] * 3600 + numbers[1] * 60 + numbers[2] + numbers[3] / 1000
    end = numbers[4] * 3600 + numbers[5] * 60 + numbers[6] + numbers[7] / 1000
    if end <= start:
        raise _bad("cue ends before it starts")
    region = None
    if target.group(2):
        x, y, w, h = (int(target.group(n)) for n in range(3, 7))
        region = (x, y, w, h)
    return Cue(start, end, target.group(1), region)


def _bad(problem: str) -> VerificationError:
    return VerificationError("a thumbnail index is malformed", detail=problem)
