"""Render figures as a Markdown table and write the JSON results file."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bench.model import Figure, Status, Unit

HEADERS = ("key", "figure", "median", "min..max", "target", "status", "context")


def format_value(value: float, unit: Unit) -> str:
    """A number in its unit, e.g. ``1.032x``, ``0.154 s``, ``1.41 us``."""
    if unit is Unit.RATIO:
        return f"{value:.3f}x"
    if unit is Unit.SECONDS:
        return f"{value:.3f} s"
    if unit is Unit.MICROSECONDS:
        return f"{value:.2f} us"
    if unit in (Unit.MIB, Unit.PER_SECOND):
        return f"{value:.1f} {unit.value}"
    return f"{value:.2f}"


def format_context(context: Mapping[str, Any]) -> str:
    """``name=value`` pairs, floats rounded, for the table's last column."""
    parts = []
    for name, value in context.items():
        shown = f"{value:.3g}" if isinstance(value, float) else str(value)
        parts.append(f"{name}={shown}")
    return ", ".join(parts)


def table_row(figure: Figure) -> tuple[str, ...]:
    """The cells of one figure; a skipped figure shows its note instead of numbers."""
    target = figure.target.describe() if figure.target else "-"
    if figure.summary is None:
        return (figure.key, figure.title, "-", "-", target, figure.status.value, figure.note)
    summary = figure.summary
    spread = f"{format_value(summary.low, figure.unit)}..{format_value(summary.high, figure.unit)}"
    context = format_context(figure.context)
    if figure.note:
        context = f"{context}; {figure.note}" if context else figure.note
    return (figure.key, figure.title, format_value(summary.median, figure.unit), spread,
            target, figure.status.value, context)


def render_table(figures: Iterable[Figure]) -> str:
    """A Markdown table of ``figures`` (pipes in cells are escaped)."""
    rows = [HEADERS, *(table_row(figure) for figure in figures)]
    lines = ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    lines.insert(1, "|" + "|".join(" --- " for _ in HEADERS) + "|")
    return "\n".join(lines)


def tally(figures: Iterable[Figure]) -> dict[str, int]:
    """How many figures have each status (every status listed, zero included)."""
    counts = {status.value: 0 for status in Status}
    for figure in figures:
        counts[figure.status.value] += 1
    return counts


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    """Write ``payload`` as indented JSON, replacing ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    partial.replace(path)
