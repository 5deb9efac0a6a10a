"""Hostile or broken inputs, resource limits, cancel, timeout and the sandbox, with real ffmpeg."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path

import pytest

from strongroom.media import runner as runner_module
from strongroom.media.errors import (
    Cancelled,
    EncodeFailed,
    InputRejected,
    MediaError,
    MediaTimeout,
)
from strongroom.media.limits import Limits
from strongroom.media.planner import FfmpegCommand, InputFile
from strongroom.media.runner import Runner, find_ffmpeg
from strongroom.media.samples import make_sample_clip

pytestmark = pytest.mark.integration

EVIL_PLAYLIST = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n/etc/passwd\n#EXT-X-ENDLIST\n"
# Loops the clip forever at real-time speed: a process that only stops when we stop it.
ENDLESS = FfmpegCommand(inputs=(InputFile("source", ("-re", "-stream_loop", "-1")),),
                        output_args=("-f", "null", "-"), expected_duration=2.0)


def gone_within(folder: Path, deadline: float) -> bool:
    """True once no process works in `folder`, polling until `deadline` (monotonic).

    Inside bubblewrap, ffmpeg dies with its sandbox (PID namespace teardown) a moment after
    bwrap itself, so "gone" is checked over the promised time, not at one instant.
    """
    while processes_in(folder):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def processes_in(folder: Path) -> list[int]:
    """Pids of live processes whose working directory is ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cwd").readlink() == folder.resolve():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def big_frame(runner: Runner, folder: Path, name: str, muxer: str) -> Path:
    command = FfmpegCommand(
        inputs=(InputFile("color=c=blue:s=8000x8000:d=0.04", ("-f", "lavfi")),),
        output_args=("-frames:v", "1", "-c:v", "png", "-f", muxer, "-y", f"file:{name}"),
        expected_duration=0.04)
    runner.generate(command, cwd=folder)
    return folder / name


def test_it_rejects_an_empty_file(runner: Runner, tmp_path: Path) -> None:
    (tmp_path / "source").touch()
    with pytest.raises(InputRejected, match="empty"):
        runner.probe(tmp_path / "source")


def test_it_rejects_a_garbage_file(runner: Runner, tmp_path: Path) -> None:
    # Fixed bytes, not random ones: random data is now and then sniffed as MP3.
    (tmp_path / "source").write_bytes(b"this is not a video\n" * 3000)
    with pytest.raises(InputRejected) as caught:
        runner.probe(tmp_path / "source")
    assert str(tmp_path) not in caught.value.user_message


def test_it_rejects_a_symlinked_source(runner: Runner, tmp_path: Path, clip: Path) -> None:
    (tmp_path / "source").symlink_to(clip)
    with pytest.raises(InputRejected, match="regular file"):
        runner.probe(tmp_path / "source")


def test_it_refuses_an_hls_playlist_as_input_when_probing(runner: Runner,
                                                          tmp_path: Path) -> None:
    (tmp_path / "source.m3u8").write_text(EVIL_PLAYLIST)
    with pytest.raises(InputRejected):
        runner.probe(tmp_path / "source.m3u8")


def test_it_refuses_an_hls_playlist_as_input_when_encoding(runner: Runner,
                                                           tmp_path: Path) -> None:
    (tmp_path / "source.m3u8").write_text(EVIL_PLAYLIST)
    command = FfmpegCommand(inputs=(InputFile("source.m3u8"),),
                            output_args=("-f", "mp4", "out.mp4"), expected_duration=1.0)
    with pytest.raises(InputRejected) as caught:
        runner.run(command, cwd=tmp_path)
    assert "not on whitelist" in caught.value.detail
    assert not (tmp_path / "out.mp4").exists()


def test_it_rejects_an_8000x8000_frame_by_max_pixels(runner: Runner, tmp_path: Path) -> None:
    source = big_frame(runner, tmp_path, "big.mkv", "matroska")
    with pytest.raises(InputRejected, match="picture size"):
        runner.probe(source)


def test_ffmpeg_itself_refuses_an_oversized_frame_when_the_probe_is_skipped(
        runner: Runner, tmp_path: Path) -> None:
    big_frame(runner, tmp_path, "big.mkv", "matroska")
    command = FfmpegCommand(inputs=(InputFile("big.mkv"),),
                            output_args=("-f", "null", "-"), expected_duration=0.04)
    with pytest.raises(InputRejected) as caught:
        runner.run(command, cwd=tmp_path)
    assert "max pixel" in caught.value.detail


def test_it_refuses_a_bare_png_by_the_format_allowlist(runner: Runner, tmp_path: Path) -> None:
    source = big_frame(runner, tmp_path, "big.png", "image2")
    with pytest.raises(InputRejected):
        runner.probe(source)


def test_cancel_kills_the_process_group_within_two_seconds(runner: Runner,
                                                           job_dir: Path) -> None:
    cancel = threading.Event()
    started: list[float] = []

    def on_progress(_: float) -> None:
        if not started:
            started.append(time.monotonic())
            cancel.set()

    with pytest.raises(Cancelled):
        runner.run(ENDLESS, cwd=job_dir, on_progress=on_progress, cancel=cancel)
    assert started, "ffmpeg never reported progress"
    assert gone_within(job_dir, started[0] + 2.0)


def test_it_stops_a_run_at_the_wall_clock_limit(job_dir: Path) -> None:
    short = Runner(find_ffmpeg(), limits=Limits(wall_seconds=1.0))
    begun = time.monotonic()
    with pytest.raises(MediaTimeout):
        short.run(ENDLESS, cwd=job_dir)
    assert time.monotonic() - begun < 4.0
    assert gone_within(job_dir, begun + 4.0)


def test_it_applies_the_file_size_rlimit(tmp_path: Path) -> None:
    tiny = Runner(find_ffmpeg(), limits=Limits(file_size=16 * 1024))
    with pytest.raises(EncodeFailed):
        make_sample_clip(tiny, tmp_path / "clip.mp4", seconds=2.0, width=320, height=240)


def test_it_refuses_output_dirs_outside_the_job_dir(runner: Runner, tmp_path: Path) -> None:
    command = FfmpegCommand(inputs=(InputFile("source"),), output_args=(),
                            expected_duration=1.0, output_dirs=("../escape",))
    with pytest.raises(MediaError):
        runner.run(command, cwd=tmp_path)
    assert not (tmp_path.parent / "escape").exists()


def test_it_logs_which_sandbox_layers_are_active(caplog: pytest.LogCaptureFixture) -> None:
    runner_module._announced.clear()  # the message is logged once per process
    with caplog.at_level(logging.INFO, logger="strongroom.media.runner"):
        Runner(find_ffmpeg())
        Runner(find_ffmpeg())
    messages = [r.getMessage() for r in caplog.records if r.getMessage().startswith("sandbox:")]
    # The exact wording per layer is checked in test_hostile_corpus.py.
    assert len(messages) == 1 and "rlimits" in messages[0]


@pytest.mark.skipif(shutil.which("bwrap") is not None, reason="bwrap is installed here")
def test_require_sandbox_without_bwrap_fails_at_construction() -> None:
    with pytest.raises(MediaError, match="sandbox"):
        Runner(find_ffmpeg(), sandbox="require")


@pytest.mark.skipif(shutil.which("bwrap") is None,
                    reason="bwrap (bubblewrap) is not installed on this host; the sandboxed "
                           "path cannot be exercised here")
def test_it_encodes_inside_bwrap_without_network_or_host_files(job_dir: Path) -> None:
    sandboxed = Runner(find_ffmpeg(), sandbox="require")
    assert sandboxed.sandboxed
    info = sandboxed.probe(job_dir / "source")
    assert info.video is not None
    command = FfmpegCommand(inputs=(InputFile("source"),),
                            output_args=("-t", "0.5", "-f", "mp4", "out0/v.mp4"),
                            expected_duration=0.5, output_dirs=("out0",))
    sandboxed.run(command, cwd=job_dir)
    assert (job_dir / "out0" / "v.mp4").stat().st_size > 0
    # /etc/passwd is not bound into the sandbox: ffmpeg can't even find it (outside the
    # sandbox it would exist and be refused as "Invalid data" instead).
    leak = FfmpegCommand(inputs=(InputFile("/etc/passwd"),),
                         output_args=("-f", "null", "-"), expected_duration=1.0)
    with pytest.raises(EncodeFailed) as caught:
        sandboxed.run(leak, cwd=job_dir)
    assert "No such file" in caught.value.detail
