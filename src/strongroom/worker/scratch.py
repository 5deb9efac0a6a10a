"""Per-job private working directories under ``<state dir>/scratch``.

A job's directory holds decrypted media, so it is 0700 and always removed when the job ends;
directories left by a crash are removed when the worker starts.
"""

from __future__ import annotations

import logging
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

logger = logging.getLogger(__name__)

SCRATCH_DIR = "scratch"
JOB_PREFIX = "job-"


def scratch_root(state_dir: Path) -> Path:
    """Create (0700) and return the directory that holds per-job directories."""
    root = state_dir / SCRATCH_DIR
    root.mkdir(mode=0o700, exist_ok=True)
    root.chmod(0o700)
    return root


def remove_stale(state_dir: Path) -> int:
    """Remove every job directory left under the scratch root; return how many were removed."""
    root = scratch_root(state_dir)
    removed = 0
    for entry in root.iterdir():
        _remove(entry)
        removed += 1
    if removed:
        logger.info("removed %d stale scratch entries", removed)
    return removed


@contextmanager
def job_directory(state_dir: Path) -> Iterator[Path]:
    """Yield a fresh, empty 0700 directory for one job; it is removed on exit, always.

    The name is random rather than derived from the lease, so nothing the edge sends can
    steer where on disk the worker writes.
    """
    path = scratch_root(state_dir) / f"{JOB_PREFIX}{secrets.token_hex(8)}"
    path.mkdir(mode=0o700)
    try:
        yield path
    finally:
        _remove(path)


def _remove(path: Path) -> None:
    # rmtree never follows symlinks inside the tree, so a link planted by ffmpeg output cannot
    # make cleanup delete files elsewhere; a top-level symlink is unlinked, not followed.
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
        return
    shutil.rmtree(path, onerror=_log_failure)


def _log_failure(
    _function: Callable[..., Any],
    _path: str,
    exc_info: tuple[type[BaseException], BaseException, TracebackType],
) -> None:
    logger.warning("could not remove a scratch entry: %s", exc_info[0].__name__)
