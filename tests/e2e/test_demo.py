"""`strongroom demo` (what `make demo` runs): a real transcode end to end, then a plaintext scan."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

MEDIA_SIGNATURES = (b"ftyp", b"#EXTM3U", b"\x1aE\xdf\xa3", b"mdat")


@pytest.fixture(scope="module")
def demo_run(
    tmp_path_factory: pytest.TempPathFactory, server_env: dict[str, str]
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    data_dir = tmp_path_factory.mktemp("demo-data")
    done = subprocess.run(
        [sys.executable, "-m", "strongroom", "demo", "--data-dir", str(data_dir)],
        env=server_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return data_dir, done


def test_the_demo_transcodes_verifies_and_exits_zero(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    data_dir, done = demo_run
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Demo OK: 2 output(s)" in done.stderr
    assert "/media/" in done.stderr  # signed download URLs are printed
    assert not list((data_dir / "run").iterdir())  # the edge shut down and cleaned up


def test_nothing_the_demo_persisted_is_readable_media(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    data_dir, done = demo_run
    assert done.returncode == 0
    stored = [
        p
        for folder in ("objects", "db", "workers")
        for p in (data_dir / folder).rglob("*")
        if p.is_file()
    ]
    assert any(p.stat().st_size > 10_000 for p in stored)  # the outputs really are in there
    for path in stored:
        content = path.read_bytes()
        found = [sig for sig in MEDIA_SIGNATURES if sig in content]
        assert not found, f"{path.relative_to(data_dir)} holds plaintext media markers {found}"


def test_a_bad_input_file_fails_the_demo_with_a_reason(
    tmp_path: Path, server_env: dict[str, str]
) -> None:
    garbage = tmp_path / "not-a-video.mp4"
    garbage.write_bytes(b"this is not a video" * 100)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "strongroom",
            "demo",
            "--data-dir",
            str(tmp_path / "data"),
            "--input",
            str(garbage),
        ],
        env=server_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode != 0
    assert "failed" in done.stderr and "Traceback" not in done.stderr


def test_keys_status_counts_what_the_demo_stored(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]], server_env: dict[str, str]
) -> None:
    data_dir, done = demo_run
    assert done.returncode == 0
    status = subprocess.run(
        [sys.executable, "-m", "strongroom", "keys", "status", "--data-dir", str(data_dir)],
        env=server_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.splitlines()
    primary = status[0].removeprefix("primary key: ")
    counts = {line.split()[0]: line for line in status[1:]}
    assert counts[primary].endswith("primary") and " 0 object" not in counts[primary]
