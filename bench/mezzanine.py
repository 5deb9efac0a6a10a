"""Generate and cache the benchmark sources: 1080p30 H.264 + AAC mezzanines from lavfi.

A 2 s closed GOP (60 frames, no scene-cut keyframes) so every rendition can cut segments on
the source's own keyframes. Files are cached under ``bench/.cache`` (git-ignored) and only
regenerated when missing; a half-written file is never left under the final name.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

WIDTH, HEIGHT, FPS = 1920, 1080, 30
GOP_FRAMES = 2 * FPS
SHORT_SECONDS = 10
LONG_SECONDS = 60


def mezzanine_argv(ffmpeg: Path, dest: Path, seconds: int) -> list[str]:
    """The ffmpeg command that writes a ``seconds``-long mezzanine to ``dest``."""
    video = f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS}:duration={seconds}"
    audio = f"sine=frequency=440:sample_rate=48000:duration={seconds}"
    return [
        str(ffmpeg), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", video, "-f", "lavfi", "-i", audio,
        "-map", "0:v", "-map", "1:a",
        # A high-quality intermediate: the ladder's input, not something a viewer would see.
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p",
        "-g", str(GOP_FRAMES), "-keyint_min", str(GOP_FRAMES), "-sc_threshold", "0",
        "-flags", "+cgop",
        "-c:a", "aac", "-b:a", "192k", "-ac", "2",
        "-movflags", "+faststart", "-f", "mp4", str(dest),
    ]


def mezzanine(ffmpeg: Path, cache: Path, seconds: int) -> Path:
    """Return the cached ``seconds``-long mezzanine, generating it first if needed."""
    dest = cache / f"mezzanine-{WIDTH}x{HEIGHT}p{FPS}-{seconds}s.mp4"
    if dest.is_file() and dest.stat().st_size > 0:
        return dest
    cache.mkdir(parents=True, exist_ok=True)
    partial = dest.with_suffix(".partial.mp4")
    subprocess.run(mezzanine_argv(ffmpeg, partial, seconds), check=True)
    partial.replace(dest)
    return dest
