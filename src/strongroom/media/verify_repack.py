"""Verify a ``repack`` output: the planned source streams, copied, in the planned container.

A repack's streams are the source's own bytes, not our encoder's, so the file is probed with
the source's (untrusted) allowlists rather than the narrower own-output ones, and it is not
decoded end to end: ffmpeg copied packets without decoding them, so a decode would judge the
source, which the client chose, not the repack; what the repack itself can get wrong (streams
lost, the wrong container, a cut-short file) the probe shows.
"""

from __future__ import annotations

from pathlib import Path

from strongroom.media.errors import MediaError, VerificationError
from strongroom.media.output_report import OutputFile, OutputReport, list_files
from strongroom.media.plan_types import PlannedOutput
from strongroom.media.probe import MediaInfo, parse_probe
from strongroom.media.repack_plan import MUXERS, format_name
from strongroom.media.runner import Runner

# Stream copy starts and ends on the source's own packets, so allow one second either way.
DURATION_TOLERANCE = 1.0
# The demuxer that reads each container back (as the probe names it).
_DEMUXERS = {
    "mp4": "mov",
    "mov": "mov",
    "matroska": "matroska",
    "webm": "matroska",
    "mpegts": "mpegts",
}


def verify_repack(runner: Runner, planned: PlannedOutput, job_dir: Path) -> OutputReport:
    """Check a repack output inside ``job_dir``; raise ``VerificationError`` if it differs."""
    out_dir = job_dir / planned.directory
    files = list_files(out_dir)
    main = job_dir / planned.main_file
    info = _probe(runner, main)
    container = main.suffix.removeprefix(".")
    if not info.format_name.startswith(_DEMUXERS[MUXERS[container]]):
        raise VerificationError(detail=f"{main.name} reads as {info.format_name}")
    copied = tuple((kind, format_name(codec)) for kind, codec in info.codecs)
    if copied != planned.copied_streams:
        raise VerificationError(
            detail=f"streams {copied} differ from planned {planned.copied_streams}"
        )
    if abs(info.duration - planned.expected_duration) > DURATION_TOLERANCE:
        raise VerificationError(
            detail=f"repack lasts {info.duration:.3f}s, source {planned.expected_duration:.3f}s"
        )
    return _report(planned, files, main.relative_to(out_dir).as_posix(), info)


def _probe(runner: Runner, main: Path) -> MediaInfo:
    try:
        return parse_probe(runner.probe_json(main))
    except MediaError as exc:
        raise VerificationError(detail=f"probe of the repack failed: {exc.detail}") from None


def _report(
    planned: PlannedOutput, files: tuple[OutputFile, ...], main: str, info: MediaInfo
) -> OutputReport:
    width, height = info.video.display_size if info.video else (0, 0)
    bitrate = round(info.bit_rate / 1000) if info.bit_rate else 0
    return OutputReport(
        index=planned.index,
        kind=planned.kind,
        main_file=main,
        files=files,
        duration=info.duration,
        bitrate=bitrate,
        width=width,
        height=height,
        renditions=(
            {
                "width": width,
                "height": height,
                "bitrate": bitrate,
                "video_codec": info.video.codec if info.video else None,
                "audio_codec": format_name(info.audio.codec) if info.audio else None,
            },
        ),
    )
