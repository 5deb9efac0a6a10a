"""Interleaved A/B(/C...) repetitions: every round runs every variant once, in rotated order.

Rotating the order (ABC, BCA, CAB, ...) spreads warm-cache and thermal effects evenly, and
pairing by round means a noisy phase of a shared machine hits baseline and candidate alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

S = TypeVar("S")


@dataclass(frozen=True)
class Sample:
    """One repetition of one variant: wall seconds, CPU seconds, peak RSS of children (KiB)."""

    wall: float
    cpu: float
    peak_rss_kib: int


def round_order(names: Sequence[str], round_index: int) -> list[str]:
    """The order of ``names`` in round ``round_index``: rotated left by the round number."""
    if not names:
        return []
    shift = round_index % len(names)
    return [*names[shift:], *names[:shift]]


def interleave(variants: Mapping[str, Callable[[], S]], rounds: int, *,
               warmup: bool = False) -> dict[str, list[S]]:
    """Run each variant once per round, rotating the order; return samples per variant.

    ``warmup`` runs every variant once first and discards the result (page cache, imports).
    Raises ``ValueError`` for fewer than one round.
    """
    if rounds < 1:
        raise ValueError("at least one round is needed")
    names = list(variants)
    if warmup:
        for name in names:
            variants[name]()
    samples: dict[str, list[S]] = {name: [] for name in names}
    for index in range(rounds):
        for name in round_order(names, index):
            samples[name].append(variants[name]())
    return samples


def column(samples: Sequence[Sample], field: str) -> list[float]:
    """One field (``wall``, ``cpu``, ``peak_rss_kib``) of every sample, as floats."""
    return [float(getattr(sample, field)) for sample in samples]
