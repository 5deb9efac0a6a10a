"""Pointing Django at a data directory before anything imports settings."""

from __future__ import annotations

import os
from pathlib import Path

from strongroom.edge.datadir import DataDir, resolve_data_dir

SETTINGS_MODULE = "strongroom.edge.settings.base"


def use_data_dir(value: str | Path | None) -> DataDir:
    """Select the data directory (flag, else STRONGROOM_DATA_DIR, else ./var) for this process."""
    data = resolve_data_dir(value or os.environ.get("STRONGROOM_DATA_DIR"))
    os.environ["STRONGROOM_DATA_DIR"] = str(data.root)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    return data


def setup_django(value: str | Path | None) -> DataDir:
    data = use_data_dir(value)
    import django  # noqa: PLC0415  (settings read the environment set just above)

    django.setup()
    return data


def migrate(*, quiet: bool = True) -> None:
    from django.core.management import call_command  # noqa: PLC0415

    call_command("migrate", interactive=False, verbosity=0 if quiet else 1)
