"""Verify an encoded output against its plan and describe it for the edge.

A broken output must never read as success, so before an output is reported it must: decode
end to end with ``-xerror``; last as long as planned (within 0.5 s, or one segment for HLS);
have the planned codecs (h264/aac, vp9|vp8/opus|vorbis, mp3, flac), picture sizes, audio
layout and stream layout; and, for HLS, have a master playlist listing one variant per
rendition (plus the audio group when audio is separate) whose every segment exists and is
non-empty (hls_audio: one audio-only variant). Pictures and metadata are checked by
``verify_pictures`` (which also writes the thumbnail index and the metadata file, both derived
from what is on disk), DASH outputs by ``verify_dash``, repacks by ``verify_repack`` and vmaf
logs by ``verify_vmaf``. HLS outputs asking for ``i_frames_only`` get their I-frame playlists
written first (``hls_iframes``), then read back with the rest; fMP4 renditions must name an
existing init segment; HEVC in an mp4 must be tagged hvc1, and every video stream must have the
planned pixel format. Files are listed with their SHA-256, hashed as a stream.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from strongroom.media.allowlists import InputPolicy
from strongroom.media.errors import MediaError, VerificationError
from strongroom.media.hls_iframes import check_iframe_playlists, write_iframe_playlists
from strongroom.media.hls_layout import HlsLayout, video_name
from strongroom.media.hls_playlist import MasterPlaylist, parse_master, parse_media
from strongroom.media.output_kinds import (
    CODEC_STRINGS,
    DASH_KINDS,
    DECODED_NAMES,
    REPORTED_NAMES,
    OutputKind,
)
from strongroom.media.output_report import OutputFile, OutputReport, list_files, read_small_text
from strongroom.media.plan_types import PlannedOutput
from strongroom.media.probe import parse_probe
from strongroom.media.runner import Runner
from strongroom.media.shared_decode import AUDIO_DIR, CHUNKLIST_NAME
from strongroom.media.verify_dash import verify_dash
from strongroom.media.verify_pictures import verify_metadata, verify_pictures
from strongroom.media.verify_repack import verify_repack
from strongroom.media.verify_vmaf import verify_vmaf

__all__ = ["OutputFile", "OutputReport", "VerificationError", "list_files", "verify_output"]

DURATION_TOLERANCE = 0.5
# Kinds with a verifier of their own (pictures go to verify_pictures).
_OWN_VERIFIERS: dict[OutputKind, Callable[[Runner, PlannedOutput, Path], OutputReport]] = {
    **dict.fromkeys(DASH_KINDS, verify_dash),
    OutputKind.REPACK: verify_repack,
    OutputKind.VMAF: verify_vmaf,
}


def verify_output(runner: Runner, planned: PlannedOutput, job_dir: Path) -> OutputReport:
    """Check the output ``planned`` describes inside ``job_dir`` and return its report.

    For ``thumbnails`` this first writes ``thumbnails.vtt`` from the pictures ffmpeg made, and
    for ``metadata`` it writes ``metadata.json`` from a (sandboxed) probe of the source.
    Raises ``VerificationError`` (a ``MediaError``) for anything that differs from the plan.
    """
    if planned.kind is OutputKind.METADATA:
        return verify_metadata(runner, planned, job_dir)
    out_dir = job_dir / planned.directory
    if out_dir.is_symlink() or not out_dir.is_dir():
        raise VerificationError(detail=f"{planned.directory} is missing")
    if planned.pictures is not None or planned.kind in _OWN_VERIFIERS:
        return _OWN_VERIFIERS.get(planned.kind, verify_pictures)(runner, planned, job_dir)
    main = job_dir / planned.main_file
    if planned.hls is not None and planned.hls.i_frames_only:
        write_iframe_playlists(out_dir, main.name, planned.hls, len(planned.renditions))
    files = list_files(out_dir)
    info = _probe_own(runner, main)
    _check_streams(planned, info)
    _check_duration(planned, info["duration"], "container")
    decoded = runner.decode_check(
        main.relative_to(job_dir), cwd=job_dir, expected_duration=planned.expected_duration
    )
    _check_duration(planned, decoded, "decoded stream")
    relative_main = main.relative_to(out_dir).as_posix()
    if planned.kind is OutputKind.ADVANCED_HLS:
        return _hls_report(planned, files, relative_main, out_dir, info)
    if planned.kind is OutputKind.HLS_AUDIO:
        return _hls_audio_report(planned, files, relative_main, out_dir, info)
    return _file_report(planned, files, relative_main, info)


def _probe_own(runner: Runner, main: Path) -> dict[str, Any]:
    try:
        document = runner.probe_json(main, policy=InputPolicy.OWN_OUTPUT)
        info = parse_probe(document)
    except MediaError as exc:
        raise VerificationError(detail=f"probe of own output failed: {exc.detail}") from None
    streams = [s for s in document["streams"] if isinstance(s, dict)]
    return {
        "duration": info.duration,
        "bit_rate": info.bit_rate,
        "size": info.size,
        "streams": streams,
    }


def _check_streams(planned: PlannedOutput, info: dict[str, Any]) -> None:
    videos = [s for s in info["streams"] if s.get("codec_type") == "video"]
    audios = [s for s in info["streams"] if s.get("codec_type") == "audio"]
    if planned.video_codec is None and videos:
        raise VerificationError(detail="an audio-only output has a video stream")
    if planned.video_codec is not None:
        wanted = DECODED_NAMES[planned.video_codec]
        if not videos or any(s.get("codec_name") not in wanted for s in videos):
            raise VerificationError(detail=f"video streams are not all {planned.video_codec}")
    # Apple's players only take HEVC tagged hvc1 (the fMP4 playlists are checked by their CODECS).
    tags = {s.get("codec_tag_string") for s in videos}
    if planned.video_codec == "libx265" and planned.kind is OutputKind.MP4 and tags != {"hvc1"}:
        raise VerificationError(detail="HEVC is not tagged hvc1")
    formats = {s.get("pix_fmt") for s in videos}
    if planned.pix_format is not None and formats != {planned.pix_format}:
        raise VerificationError(detail=f"pixel formats {formats} differ from {planned.pix_format}")
    got = sorted((s.get("width"), s.get("height")) for s in videos)
    want = sorted((r.width, r.height) for r in planned.renditions)
    if got != want:
        raise VerificationError(detail=f"picture sizes {got} differ from planned {want}")
    _check_audio(planned, audios)


def _check_audio(planned: PlannedOutput, audios: list[dict[str, Any]]) -> None:
    wanted = DECODED_NAMES[planned.audio_codec] if planned.audio_codec else frozenset()
    if planned.has_audio != bool(audios) or any(s.get("codec_name") not in wanted for s in audios):
        raise VerificationError(detail="audio layout differs from the plan")
    if planned.audio_layout is not None:
        got = [(int(s.get("sample_rate", 0)), s.get("channels")) for s in audios]
        if got != [planned.audio_layout]:
            raise VerificationError(
                detail=f"audio {got} differs from planned {planned.audio_layout}"
            )


def _check_duration(planned: PlannedOutput, seconds: float, what: str) -> None:
    tolerance = max(DURATION_TOLERANCE, float(planned.segment_duration or 0))
    if abs(seconds - planned.expected_duration) > tolerance:
        raise VerificationError(
            detail=f"{what} lasts {seconds:.3f}s, planned {planned.expected_duration:.3f}s"
        )


def _reported(codec: str | None) -> str | None:
    return None if codec is None else REPORTED_NAMES[codec]


def _file_report(
    planned: PlannedOutput, files: tuple[OutputFile, ...], main: str, info: dict[str, Any]
) -> OutputReport:
    """mp4, webm, mp3, flac: one file, at most one rendition."""
    bitrate = _kbps(info["bit_rate"], info["size"], info["duration"])
    width, height = (
        (planned.renditions[0].width, planned.renditions[0].height)
        if planned.renditions
        else (0, 0)
    )
    return OutputReport(
        index=planned.index,
        kind=planned.kind,
        main_file=main,
        files=files,
        duration=info["duration"],
        bitrate=bitrate,
        width=width,
        height=height,
        renditions=(
            {
                "width": width,
                "height": height,
                "bitrate": bitrate,
                "video_codec": _reported(planned.video_codec),
                "audio_codec": _reported(planned.audio_codec) if planned.has_audio else None,
            },
        ),
    )


def _kbps(bit_rate: int | None, size: int, duration: float) -> int:
    if bit_rate:
        return round(bit_rate / 1000)
    return round(size * 8 / duration / 1000) if duration > 0 else 0


def _hls_report(
    planned: PlannedOutput,
    files: tuple[OutputFile, ...],
    main: str,
    out_dir: Path,
    info: dict[str, Any],
) -> OutputReport:
    master = parse_master(read_small_text(out_dir / main))
    layout = planned.hls or HlsLayout()
    _check_master(planned, layout, master)
    for uri in _media_playlists(master):
        _check_media_playlist(planned, out_dir, uri, layout)
    if layout.i_frames_only:
        check_iframe_playlists(out_dir, master, layout, len(planned.renditions))
    rows = tuple(
        {
            "width": r.width,
            "height": r.height,
            "bitrate": round(v.bandwidth / 1000),
            "video_codec": _reported(planned.video_codec),
            "audio_codec": "aac" if planned.has_audio else None,
        }
        for r, v in zip(planned.renditions, _video_variants(master), strict=True)
    )
    top = max(rows, key=lambda row: (row["width"] * row["height"], row["bitrate"]))
    return OutputReport(
        index=planned.index,
        kind=planned.kind,
        main_file=main,
        files=files,
        duration=info["duration"],
        bitrate=top["bitrate"],
        width=top["width"],
        height=top["height"],
        renditions=rows,
    )


def _hls_audio_report(
    planned: PlannedOutput,
    files: tuple[OutputFile, ...],
    main: str,
    out_dir: Path,
    info: dict[str, Any],
) -> OutputReport:
    """hls_audio: a master with exactly one audio-only variant, ``audio/chunklist.m3u8``."""
    master = parse_master(read_small_text(out_dir / main))
    uris = [v.uri for v in master.variants]
    if uris != [f"{AUDIO_DIR}/{CHUNKLIST_NAME}"] or master.variants[0].resolution is not None:
        raise VerificationError(detail=f"master lists {uris}, want one audio variant")
    _check_media_playlist(planned, out_dir, uris[0])
    bitrate = round(master.variants[0].bandwidth / 1000)
    return OutputReport(
        index=planned.index,
        kind=planned.kind,
        main_file=main,
        files=files,
        duration=info["duration"],
        bitrate=bitrate,
        width=0,
        height=0,
        renditions=(
            {
                "width": 0,
                "height": 0,
                "bitrate": bitrate,
                "video_codec": None,
                "audio_codec": "aac",
            },
        ),
    )


def _video_variants(master: MasterPlaylist) -> list[Any]:
    return [v for v in master.variants if v.resolution is not None]


def _check_master(planned: PlannedOutput, layout: HlsLayout, master: MasterPlaylist) -> None:
    variants = _video_variants(master)
    want = [layout.playlist(video_name(n)) for n in range(1, len(planned.renditions) + 1)]
    if [v.uri for v in variants] != want:
        raise VerificationError(detail=f"master lists {[v.uri for v in variants]}, want {want}")
    prefix = CODEC_STRINGS[planned.video_codec or "libx264"]
    if any(not (v.codecs or "").startswith(prefix) for v in variants):
        raise VerificationError(detail=f"a variant's CODECS is not {prefix}")
    sizes = [v.resolution for v in variants]
    if sizes != [(r.width, r.height) for r in planned.renditions]:
        raise VerificationError(detail=f"master sizes {sizes} differ from the plan")
    audio = [m for m in master.media if m.kind == "AUDIO"]
    if planned.separate_audio and [m.uri for m in audio] != [layout.playlist(AUDIO_DIR)]:
        raise VerificationError(detail="master lacks the separate audio rendition")
    if planned.separate_audio and any(v.audio_group != audio[0].group_id for v in variants):
        raise VerificationError(detail="a variant does not use the audio group")


def _media_playlists(master: MasterPlaylist) -> list[str]:
    uris = [v.uri for v in master.variants]
    uris += [m.uri for m in master.media if m.uri is not None]
    return list(dict.fromkeys(uris))


def _check_media_playlist(
    planned: PlannedOutput, out_dir: Path, uri: str, layout: HlsLayout | None = None
) -> None:
    playlist_path = out_dir / uri
    playlist = parse_media(read_small_text(playlist_path))
    if not playlist.ended or not playlist.segments:
        raise VerificationError(detail=f"{uri} is incomplete")
    fmp4 = layout is not None and layout.fmp4
    segments = [segment for segment, _ in playlist.segments]
    if fmp4 and playlist.map_uri is not None:
        segments.append(playlist.map_uri)
    extension = f".{layout.extension}" if layout is not None else ".ts"
    if fmp4 != (playlist.map_uri is not None) or any(
        not segment.endswith(extension) for segment, _ in playlist.segments
    ):
        raise VerificationError(detail=f"{uri} does not have the planned segment type")
    for segment in segments:
        path = playlist_path.parent / segment
        if path.is_symlink() or not path.is_file() or path.stat().st_size == 0:
            raise VerificationError(detail=f"{uri} lists a missing or empty segment")
    _check_duration(planned, playlist.duration, uri)
