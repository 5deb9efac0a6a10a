"""Generate small H.264/AAC sample clips (testsrc2 + sine) for the demo and the tests.

Clips are generated on demand and never committed.
"""

from __future__ import annotations

from pathlib import Path

from strongroom.media.planner import FfmpegCommand, InputFile
from strongroom.media.runner import Runner


def sample_clip_command(
    dest_name: str, *, seconds: float, width: int, height: int, fps: int
) -> FfmpegCommand:
    """The (trusted, lavfi) command that writes the clip ``dest_name`` in the working dir."""
    video = f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds:g}"
    audio = f"sine=frequency=440:sample_rate=48000:duration={seconds:g}"
    return FfmpegCommand(
        inputs=(InputFile(video, ("-f", "lavfi")), InputFile(audio, ("-f", "lavfi"))),
        output_args=(
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-g",
            str(fps),
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-ac",
            "2",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
            "-y",
            f"file:{dest_name}",
        ),
        expected_duration=seconds,
    )


def make_sample_clip(
    runner: Runner,
    dest: Path,
    *,
    seconds: float = 4.0,
    width: int = 1280,
    height: int = 720,
    fps: int = 30,
) -> Path:
    """Write a ``seconds``-long ``width`` x ``height`` test clip to ``dest`` and return it.

    ``dest``'s folder must exist; it is the process's working directory.
    """
    command = sample_clip_command(dest.name, seconds=seconds, width=width, height=height, fps=fps)
    runner.generate(command, cwd=dest.parent)
    return dest
