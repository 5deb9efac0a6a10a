"""Verify an advanced_dash or webm_dash output against its plan and describe it for the edge.

The probe program can't open an MPD (PyAV's FFmpeg has no ``dash`` demuxer), so the stream
layout is read from the manifest itself, which ffmpeg wrote from the encoders' actual
parameters: one video Representation per planned rendition, in order, with the planned size
and the kind's codec (``avc1``/``vp09``), plus one audio Representation when the source has
sound. Every init and media segment the manifest names must be a non-empty file of the output,
the timeline must last as long as planned, and ffmpeg (which has the ``dash`` demuxer) must
decode the whole presentation with ``-xerror``. With ``create_m3u8_playlist`` the HLS master
must list the same renditions over segments that exist.

Known gap: damage inside a WebM media segment can go unnoticed, because the matroska demuxer
resyncs past it without reporting an error (a damaged CMAF segment fails the decode).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from strongroom.media.dash_manifest import Manifest, Representation, parse_mpd
from strongroom.media.errors import VerificationError
from strongroom.media.hls_playlist import parse_master, parse_media
from strongroom.media.output_kinds import CODEC_STRINGS, REPORTED_NAMES, OutputKind
from strongroom.media.output_report import OutputFile, OutputReport, list_files, read_small_text
from strongroom.media.plan_types import PlannedOutput
from strongroom.media.runner import Runner

DURATION_TOLERANCE = 0.5
# What the manifest must say per kind: (video mime, codecs prefix), (audio mime, codecs prefix).
# The video codecs prefix is the encoder's (``CODEC_STRINGS``); these are the defaults'.
_EXPECTED = {
    OutputKind.ADVANCED_DASH: (("video/mp4", "avc1."), ("audio/mp4", "mp4a.40.")),
    OutputKind.WEBM_DASH: (("video/webm", "vp09."), ("audio/webm", "opus")),
}
_REPORTED = {OutputKind.ADVANCED_DASH: ("h264", "aac"), OutputKind.WEBM_DASH: ("vp9", "opus")}


def verify_dash(runner: Runner, planned: PlannedOutput, job_dir: Path) -> OutputReport:
    """Check a DASH output inside ``job_dir``; raise ``VerificationError`` if it differs."""
    out_dir = job_dir / planned.directory
    files = list_files(out_dir)
    main = job_dir / planned.main_file
    manifest = parse_mpd(read_small_text(main))
    videos, audios = _check_layout(planned, manifest)
    present = {item.path for item in files}
    for representation in manifest.representations:
        _check_segments(planned, representation, present)
    _check_duration(planned, manifest.duration, "manifest")
    decoded = runner.decode_check(
        main.relative_to(job_dir), cwd=job_dir, expected_duration=planned.expected_duration
    )
    _check_duration(planned, decoded, "decoded presentation")
    if planned.hls_master is not None:
        _check_hls_master(planned, out_dir, present)
    return _report(planned, files, main.relative_to(out_dir).as_posix(), manifest, videos, audios)


def _check_layout(
    planned: PlannedOutput, manifest: Manifest
) -> tuple[tuple[Representation, ...], tuple[Representation, ...]]:
    (video_mime, _), (audio_mime, audio_codec) = _EXPECTED[planned.kind]
    video_codec = CODEC_STRINGS[planned.video_codec or "libx264"]
    videos, audios = manifest.of_type("video"), manifest.of_type("audio")
    if len(videos) + len(audios) != len(manifest.representations):
        raise VerificationError(detail="the manifest has a representation of another type")
    sizes = [(r.width, r.height) for r in videos]
    want = [(r.width, r.height) for r in planned.renditions]
    if sizes != want:
        raise VerificationError(detail=f"manifest sizes {sizes} differ from planned {want}")
    if any(r.mime_type != video_mime or not r.codecs.startswith(video_codec) for r in videos):
        raise VerificationError(detail=f"video representations are not all {video_codec}")
    if len(audios) != (1 if planned.has_audio else 0):
        raise VerificationError(detail="audio layout differs from the plan")
    if any(r.mime_type != audio_mime or not r.codecs.startswith(audio_codec) for r in audios):
        raise VerificationError(detail=f"the audio representation is not {audio_codec}")
    return videos, audios


def _check_segments(
    planned: PlannedOutput, representation: Representation, present: set[str]
) -> None:
    for uri in (representation.init, *representation.segments):
        if uri not in present:
            raise VerificationError(detail=f"representation {representation.id} lacks {uri}")
    _check_duration(planned, representation.duration, f"representation {representation.id}")


def _check_duration(planned: PlannedOutput, seconds: float, what: str) -> None:
    tolerance = max(DURATION_TOLERANCE, float(planned.segment_duration or 0))
    if abs(seconds - planned.expected_duration) > tolerance:
        raise VerificationError(
            detail=f"{what} lasts {seconds:.3f}s, planned {planned.expected_duration:.3f}s"
        )


def _check_hls_master(planned: PlannedOutput, out_dir: Path, present: set[str]) -> None:
    """The CMAF HLS master: one variant per rendition (planned sizes) and the audio group."""
    master = parse_master(read_small_text(out_dir / str(planned.hls_master)))
    sizes = [v.resolution for v in master.variants]
    if sizes != [(r.width, r.height) for r in planned.renditions]:
        raise VerificationError(detail=f"HLS master sizes {sizes} differ from the plan")
    audio = [m for m in master.media if m.kind == "AUDIO" and m.uri is not None]
    if len(audio) != (1 if planned.has_audio else 0):
        raise VerificationError(detail="HLS master audio differs from the plan")
    for uri in [v.uri for v in master.variants] + [str(m.uri) for m in audio]:
        playlist = parse_media(read_small_text(out_dir / uri))
        if not playlist.ended or not playlist.segments:
            raise VerificationError(detail=f"{uri} is incomplete")
        if any(segment not in present for segment, _ in playlist.segments):
            raise VerificationError(detail=f"{uri} lists a missing segment")
        _check_duration(planned, playlist.duration, uri)


def _report(
    planned: PlannedOutput,
    files: tuple[OutputFile, ...],
    main: str,
    manifest: Manifest,
    videos: tuple[Representation, ...],
    audios: tuple[Representation, ...],
) -> OutputReport:
    _, audio_codec = _REPORTED[planned.kind]
    video_codec = REPORTED_NAMES[planned.video_codec or "libx264"]
    audio_kbps = round(audios[0].bandwidth / 1000) if audios else 0
    # The sizes are the planned ones (_check_layout compared them); bitrates are the manifest's.
    rows: tuple[dict[str, Any], ...] = tuple(
        {
            "width": planned_rendition.width,
            "height": planned_rendition.height,
            "bitrate": round(r.bandwidth / 1000) + audio_kbps,
            "video_codec": video_codec,
            "audio_codec": audio_codec if audios else None,
        }
        for planned_rendition, r in zip(planned.renditions, videos, strict=True)
    )
    top = max(rows, key=lambda row: (row["width"] * row["height"], row["bitrate"]))
    return OutputReport(
        index=planned.index,
        kind=planned.kind,
        main_file=main,
        files=files,
        duration=manifest.duration,
        bitrate=top["bitrate"],
        width=top["width"],
        height=top["height"],
        renditions=rows,
    )
