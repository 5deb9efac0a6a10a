"""Verify an encoded output against its plan and describe it for the edge.

A broken output must never read as success, so before an output is reported it must: decode
end to end with ``-xerror``; last as long as planned (within 0.5 s, or one segment for HLS);
have the planned codecs (h264/aac), picture sizes and stream layout; and, for HLS, have a
master playlist listing one variant per rendition (plus the audio group when audio is
separate) whose every segment exists and is non-empty. Files are listed with their SHA-256,
hashed as a stream.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from strongroom.media.allowlists import InputPolicy
from strongroom.media.errors import MediaError, VerificationError
from strongroom.media.hls_playlist import MasterPlaylist, parse_master, parse_media
from strongroom.media.jobspec import OutputKind
from strongroom.media.planner import AUDIO_DIR, CHUNKLIST_NAME, PlannedOutput
from strongroom.media.probe import parse_probe
from strongroom.media.runner import Runner

__all__ = ["OutputFile", "OutputReport", "VerificationError", "verify_output"]

DURATION_TOLERANCE = 0.5
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class OutputFile:
    """One file of an output; ``path`` is relative to the output's folder, with "/"."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class OutputReport:
    """A verified output, as reported to the edge on completion.

    ``main_file`` and file paths are relative to the output's folder (``out<index>``), which is
    how uploads address them (``<output_base_url>/<index>/<relative path>``). ``bitrate`` is in
    kbps; ``width``/``height`` are those of the largest rendition.
    """

    index: int
    kind: OutputKind
    main_file: str
    files: tuple[OutputFile, ...]
    duration: float
    bitrate: int
    width: int
    height: int
    renditions: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """The OutputReport JSON object of docs/worker-protocol.md."""
        return {
            "index": self.index,
            "kind": self.kind.value,
            "main_file": self.main_file,
            "files": [asdict(item) for item in self.files],
            "duration": round(self.duration, 3),
            "bitrate": self.bitrate,
            "width": self.width,
            "height": self.height,
            "renditions": [dict(item) for item in self.renditions],
        }


def verify_output(runner: Runner, planned: PlannedOutput, job_dir: Path) -> OutputReport:
    """Check the output ``planned`` describes inside ``job_dir`` and return its report.

    Raises ``VerificationError`` (a ``MediaError``) for anything that differs from the plan.
    """
    out_dir = job_dir / planned.directory
    if out_dir.is_symlink() or not out_dir.is_dir():
        raise VerificationError(detail=f"{planned.directory} is missing")
    files = list_files(out_dir)
    main = job_dir / planned.main_file
    info = _probe_own(runner, main)
    _check_streams(planned, info)
    _check_duration(planned, info["duration"], "container")
    runner.decode_check(
        main.relative_to(job_dir), cwd=job_dir, expected_duration=planned.expected_duration
    )
    relative_main = main.relative_to(out_dir).as_posix()
    if planned.kind is OutputKind.MP4:
        return _mp4_report(planned, files, relative_main, info)
    return _hls_report(planned, files, relative_main, out_dir, info)


def list_files(out_dir: Path) -> tuple[OutputFile, ...]:
    """Every regular file under ``out_dir`` with size and SHA-256, sorted by path.

    Symlinks, special files and empty files are refused: ffmpeg writes none of them.
    """
    found: list[OutputFile] = []
    for path in sorted(out_dir.rglob("*")):
        relative = path.relative_to(out_dir).as_posix()
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            raise VerificationError(detail=f"unexpected entry {relative}")
        if path.is_file():
            found.append(_describe_file(path, relative))
    return tuple(found)


def _describe_file(path: Path, relative: str) -> OutputFile:
    with path.open("rb") as stream:
        digest = hashlib.file_digest(stream, "sha256")  # reads in chunks, bounded memory
    size = path.stat().st_size
    if size == 0:
        raise VerificationError(detail=f"empty file {relative}")
    return OutputFile(path=relative, size=size, sha256=digest.hexdigest())


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
    if {s.get("codec_name") for s in videos} != {"h264"}:
        raise VerificationError(detail="video streams are not all h264")
    got = sorted((s.get("width"), s.get("height")) for s in videos)
    want = sorted((r.width, r.height) for r in planned.renditions)
    if got != want:
        raise VerificationError(detail=f"picture sizes {got} differ from planned {want}")
    if planned.has_audio != bool(audios) or any(s.get("codec_name") != "aac" for s in audios):
        raise VerificationError(detail="audio layout differs from the plan")


def _check_duration(planned: PlannedOutput, seconds: float, what: str) -> None:
    tolerance = max(DURATION_TOLERANCE, float(planned.segment_duration or 0))
    if abs(seconds - planned.expected_duration) > tolerance:
        raise VerificationError(
            detail=f"{what} lasts {seconds:.3f}s, planned {planned.expected_duration:.3f}s"
        )


def _mp4_report(
    planned: PlannedOutput, files: tuple[OutputFile, ...], main: str, info: dict[str, Any]
) -> OutputReport:
    rendition = planned.renditions[0]
    bitrate = _kbps(info["bit_rate"], info["size"], info["duration"])
    return OutputReport(
        index=planned.index,
        kind=planned.kind,
        main_file=main,
        files=files,
        duration=info["duration"],
        bitrate=bitrate,
        width=rendition.width,
        height=rendition.height,
        renditions=(
            {
                "width": rendition.width,
                "height": rendition.height,
                "bitrate": bitrate,
                "video_codec": "h264",
                "audio_codec": "aac" if planned.has_audio else None,
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
    master = parse_master(_read_text(out_dir / main))
    _check_master(planned, master)
    for uri in _media_playlists(master):
        _check_media_playlist(planned, out_dir, uri)
    rows = tuple(
        {
            "width": r.width,
            "height": r.height,
            "bitrate": round(v.bandwidth / 1000),
            "video_codec": "h264",
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


def _read_text(path: Path) -> str:
    if path.is_symlink() or not path.is_file() or path.stat().st_size > 1 << 20:
        raise VerificationError(detail=f"playlist {path.name} missing or too large")
    return path.read_text(encoding="utf-8", errors="strict")


def _video_variants(master: MasterPlaylist) -> list[Any]:
    return [v for v in master.variants if v.resolution is not None]


def _check_master(planned: PlannedOutput, master: MasterPlaylist) -> None:
    variants = _video_variants(master)
    want = [f"{Path(d).name}/{CHUNKLIST_NAME}" for d in planned.variant_dirs()]
    if [v.uri for v in variants] != want:
        raise VerificationError(detail=f"master lists {[v.uri for v in variants]}, want {want}")
    sizes = [v.resolution for v in variants]
    if sizes != [(r.width, r.height) for r in planned.renditions]:
        raise VerificationError(detail=f"master sizes {sizes} differ from the plan")
    audio = [m for m in master.media if m.kind == "AUDIO"]
    if planned.separate_audio and [m.uri for m in audio] != [f"{AUDIO_DIR}/{CHUNKLIST_NAME}"]:
        raise VerificationError(detail="master lacks the separate audio rendition")
    if planned.separate_audio and any(v.audio_group != audio[0].group_id for v in variants):
        raise VerificationError(detail="a variant does not use the audio group")


def _media_playlists(master: MasterPlaylist) -> list[str]:
    uris = [v.uri for v in master.variants]
    uris += [m.uri for m in master.media if m.uri is not None]
    return list(dict.fromkeys(uris))


def _check_media_playlist(planned: PlannedOutput, out_dir: Path, uri: str) -> None:
    playlist_path = out_dir / uri
    playlist = parse_media(_read_text(playlist_path))
    if not playlist.ended or not playlist.segments:
        raise VerificationError(detail=f"{uri} is incomplete")
    for segment, _ in playlist.segments:
        path = playlist_path.parent / segment
        if path.is_symlink() or not path.is_file() or path.stat().st_size == 0:
            raise VerificationError(detail=f"{uri} lists a missing or empty segment")
    _check_duration(planned, playlist.duration, uri)
