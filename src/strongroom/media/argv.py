"""Build the full ffmpeg argument list for a planned command. Pure; golden-tested."""

from __future__ import annotations

from pathlib import Path

from strongroom.media.allowlists import POLICIES, InputPolicy
from strongroom.media.limits import Limits
from strongroom.media.planner import FfmpegCommand, InputFile

BASE_FLAGS = (
    "-nostdin",
    "-hide_banner",
    "-nostats",
    "-loglevel",
    "error",
    "-progress",
    "pipe:1",
)


def build_argv(
    ffmpeg: Path,
    command: FfmpegCommand,
    limits: Limits,
    *,
    policy: InputPolicy = InputPolicy.UNTRUSTED,
) -> list[str]:
    """Return ``[ffmpeg, hardening flags..., per-input allowlists and limits, -i ..., outputs]``.

    Every input gets ``policy``'s protocol/demuxer/decoder allowlists plus ``-max_streams`` and
    ``-max_pixels`` from ``limits`` (enforced again at decode time because metadata can lie).
    File inputs are written as ``file:<path>`` so a name can never be read as an option or as
    another protocol. ``OWN_OUTPUT`` (verification) adds ``-xerror``: any decode error fails.
    """
    argv = [str(ffmpeg), *BASE_FLAGS]
    if policy is InputPolicy.OWN_OUTPUT:
        argv.append("-xerror")
    for item in command.inputs:
        argv += _input_args(item, limits, policy)
    return argv + list(command.output_args)


def _input_args(item: InputFile, limits: Limits, policy: InputPolicy) -> list[str]:
    allow = POLICIES[policy]
    args = ["-protocol_whitelist", allow.protocols, "-format_whitelist", allow.formats]
    if allow.codecs:
        args += ["-codec_whitelist", allow.codecs]
    args += ["-max_streams", str(limits.max_streams), "-max_pixels", str(limits.max_pixels)]
    path = item.path if policy is InputPolicy.GENERATED else file_url(item.path)
    return [*args, *item.options, "-i", path]


def file_url(path: str) -> str:
    """``path`` as an explicit ``file:`` URL (ffmpeg reads ``file:-x`` as a file named ``-x``)."""
    return path if path.startswith("file:") else f"file:{path}"
