"""Per-job scratch directories: private, always removed, stale ones swept at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom.worker.scratch import SCRATCH_DIR, job_directory, remove_stale


def test_a_job_directory_is_private_and_empty(tmp_path: Path) -> None:
    with job_directory(tmp_path) as job_dir:
        assert job_dir.stat().st_mode & 0o777 == 0o700
        assert list(job_dir.iterdir()) == []
        assert job_dir.parent == tmp_path / SCRATCH_DIR
        assert (tmp_path / SCRATCH_DIR).stat().st_mode & 0o777 == 0o700


def test_it_is_removed_after_the_job(tmp_path: Path) -> None:
    with job_directory(tmp_path) as job_dir:
        (job_dir / "out0" / "video_0").mkdir(parents=True)
        (job_dir / "out0" / "video_0" / "segment.ts").write_bytes(b"x")
    assert not job_dir.exists()


def test_it_is_removed_when_the_job_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), job_directory(tmp_path) as job_dir:
        (job_dir / "source").write_bytes(b"x")
        raise RuntimeError("boom")
    assert not job_dir.exists()


def test_two_jobs_get_different_directories(tmp_path: Path) -> None:
    with job_directory(tmp_path) as first, job_directory(tmp_path) as second:
        assert first != second


def test_cleanup_does_not_follow_symlinks_out_of_the_job(tmp_path: Path) -> None:
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    with job_directory(tmp_path) as job_dir:
        (job_dir / "link").symlink_to(outside)
    assert (outside / "keep.txt").read_text() == "keep"


def test_stale_directories_from_a_crash_are_removed(tmp_path: Path) -> None:
    root = tmp_path / SCRATCH_DIR
    (root / "job-dead" / "out0").mkdir(parents=True)
    (root / "job-dead" / "source").write_bytes(b"x")
    (root / "stray-file").write_bytes(b"x")
    assert remove_stale(tmp_path) == 2
    assert list(root.iterdir()) == []


def test_removing_stale_state_with_nothing_there_is_harmless(tmp_path: Path) -> None:
    assert remove_stale(tmp_path) == 0
