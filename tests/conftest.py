"""Markers follow the folder a test lives in, so a test in the wrong place is obvious."""

from __future__ import annotations

import pytest

_MARKERS = {
    "unit": pytest.mark.unit,
    "integration": pytest.mark.integration,
    "e2e": pytest.mark.e2e,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.parts
        for name, marker in _MARKERS.items():
            if name in parts:
                item.add_marker(marker)
