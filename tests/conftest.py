"""Markers follow the folder a test lives in, so a test in the wrong place is obvious."""

from __future__ import annotations

from collections.abc import Iterator

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


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None) -> Iterator[None]:
    """pytest-django's test database, and before it is dropped, the PostgreSQL wrapped-key
    store's own connections closed (an open session would block DROP DATABASE)."""
    yield
    from strongroom.edge.jobs.services.objects import close_key_store

    close_key_store()
