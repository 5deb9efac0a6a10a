"""Summaries of repeated measurements: median, quartiles, min/max, and paired ratios.

Home-made rather than ``statistics.quantiles`` because the harness needs one fixed, documented
quantile rule (linear interpolation, as numpy's default) that also works for two samples.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Summary:
    """Median, interquartile range and extremes of one set of repetitions."""

    median: float
    q1: float
    q3: float
    low: float
    high: float
    count: int

    def to_dict(self) -> dict[str, float | int]:
        """A JSON-ready mapping of the fields."""
        return asdict(self)


def quantile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` (0..1) quantile of ``values`` by linear interpolation.

    Raises ``ValueError`` for an empty sequence or a fraction outside [0, 1].
    """
    if not values:
        raise ValueError("no values to summarise")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction must be between 0 and 1")
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def summarize(values: Sequence[float]) -> Summary:
    """Summarise repetitions; ``ValueError`` when there are none."""
    if not values:
        raise ValueError("no values to summarise")
    return Summary(
        median=statistics.median(values),
        q1=quantile(values, 0.25),
        q3=quantile(values, 0.75),
        low=min(values),
        high=max(values),
        count=len(values),
    )


def paired_ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """Per-repetition ratios ``numerators[i] / denominators[i]``.

    Pairs come from the same interleaved round, so slow phases of a shared machine hit both
    sides. Raises ``ValueError`` for unequal lengths or a zero denominator.
    """
    if len(numerators) != len(denominators):
        raise ValueError("paired samples must have the same length")
    if any(value == 0 for value in denominators):
        raise ValueError("a baseline measurement is zero")
    return [top / bottom for top, bottom in zip(numerators, denominators, strict=True)]


def paired_differences(minuends: Sequence[float], subtrahends: Sequence[float]) -> list[float]:
    """Per-repetition differences ``minuends[i] - subtrahends[i]`` (e.g. fixed overhead)."""
    if len(minuends) != len(subtrahends):
        raise ValueError("paired samples must have the same length")
    return [a - b for a, b in zip(minuends, subtrahends, strict=True)]
