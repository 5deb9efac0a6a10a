"""Output file listing and the OutputReport JSON (no ffmpeg needed)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from strongroom.media.errors import VerificationError
from strongroom.media.jobspec import OutputKind
from strongroom.media.verify import OutputFile, OutputReport, list_files


def test_it_lists_files_with_sizes_and_sha256_sorted(tmp_path: Path) -> None:
    (tmp_path / "video_1").mkdir()
    (tmp_path / "video_1" / "segment_00000.ts").write_bytes(b"ts" * 1000)
    (tmp_path / "playlist.m3u8").write_bytes(b"#EXTM3U\n")
    assert list_files(tmp_path) == (
        OutputFile("playlist.m3u8", 8, hashlib.sha256(b"#EXTM3U\n").hexdigest()),
        OutputFile("video_1/segment_00000.ts", 2000, hashlib.sha256(b"ts" * 1000).hexdigest()),
    )


def test_it_refuses_symlinks_in_an_output(tmp_path: Path) -> None:
    (tmp_path / "video.mp4").symlink_to("/etc/passwd")
    with pytest.raises(VerificationError):
        list_files(tmp_path)


def test_it_refuses_empty_files(tmp_path: Path) -> None:
    (tmp_path / "video.mp4").touch()
    with pytest.raises(VerificationError):
        list_files(tmp_path)


def test_it_refuses_special_files(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(VerificationError):
        list_files(tmp_path)


def test_it_serialises_the_protocol_output_report() -> None:
    report = OutputReport(
        index=0, kind=OutputKind.MP4, main_file="video.mp4",
        files=(OutputFile("video.mp4", 1234, "ab" * 32),), duration=4.00049, bitrate=1800,
        width=1280, height=720,
        renditions=({"width": 1280, "height": 720, "bitrate": 1800, "video_codec": "h264",
                     "audio_codec": "aac"},))
    assert report.to_dict() == {
        "index": 0, "kind": "mp4", "main_file": "video.mp4",
        "files": [{"path": "video.mp4", "size": 1234, "sha256": "ab" * 32}],
        "duration": 4.0, "bitrate": 1800, "width": 1280, "height": 720,
        "renditions": [{"width": 1280, "height": 720, "bitrate": 1800, "video_codec": "h264",
                        "audio_codec": "aac"}],
    }
