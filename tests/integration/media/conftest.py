"""Real ffmpeg fixtures: one tiny generated clip per session (never committed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from strongroom.media.runner import Runner, find_ffmpeg
from strongroom.media.samples import make_sample_clip


@pytest.fixture(scope="session")
def runner() -> Runner:
    return Runner(find_ffmpeg())


@pytest.fixture(scope="session")
def clip(runner: Runner, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clip")
    return make_sample_clip(runner, folder / "clip.mp4", seconds=2.0, width=320, height=240)


@pytest.fixture
def job_dir(tmp_path: Path, clip: Path) -> Path:
    """An empty job directory holding a copy of the clip as ``source``."""
    job = tmp_path / "job"
    job.mkdir()
    shutil.copyfile(clip, job / "source")
    return job
