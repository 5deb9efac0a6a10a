"""What a benchmark reports: figures with an optional target, and how a target is judged."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from bench.stats import Summary


class Comparison(enum.StrEnum):
    """How a figure is compared with its target."""

    AT_MOST = "<="
    AT_LEAST = ">="


class Status(enum.StrEnum):
    """Outcome of a figure against its target."""

    MET = "met"
    MISSED = "MISSED"
    INFO = "info"  # context only: no target applies
    SKIPPED = "skipped"


class Unit(enum.StrEnum):
    """What a figure's numbers are."""

    RATIO = "x"
    SECONDS = "s"
    MICROSECONDS = "us"
    VMAF = "vmaf"
    MIB = "MiB"
    PER_SECOND = "/s"


@dataclass(frozen=True)
class Target:
    """A bound from the performance baselines, e.g. T1 ``<= 1.05``."""

    ref: str
    comparison: Comparison
    bound: float

    def judge(self, value: float) -> Status:
        """MET when ``value`` is within the bound, MISSED otherwise."""
        if self.comparison is Comparison.AT_MOST:
            return Status.MET if value <= self.bound else Status.MISSED
        return Status.MET if value >= self.bound else Status.MISSED

    def describe(self) -> str:
        """Short text such as ``T1 <= 1.05``."""
        return f"{self.ref} {self.comparison.value} {self.bound:g}"


@dataclass(frozen=True)
class Figure:
    """One reported number: the paired statistic, its target, and absolute context.

    ``summary`` is None for a skipped figure (``note`` says why). The status is judged on the
    median; the spread is there so a reader can tell noise from a real miss.
    """

    key: str
    title: str
    unit: Unit
    summary: Summary | None
    target: Target | None = None
    context: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def status(self) -> Status:
        """MET/MISSED against the target; INFO without one; SKIPPED without a measurement."""
        if self.summary is None:
            return Status.SKIPPED
        if self.target is None:
            return Status.INFO
        return self.target.judge(self.summary.median)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping, including the judged status."""
        return {
            "key": self.key,
            "title": self.title,
            "unit": self.unit.value,
            "summary": None if self.summary is None else self.summary.to_dict(),
            "target": None if self.target is None else self.target.describe(),
            "status": self.status.value,
            "context": self.context,
            "note": self.note,
        }


def skipped(key: str, title: str, unit: Unit, note: str, target: Target | None = None) -> Figure:
    """A figure that could not be measured here, with the reason."""
    return Figure(key=key, title=title, unit=unit, summary=None, target=target, note=note)
