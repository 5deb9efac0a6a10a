"""What a verified output looks like to the edge: its files and the OutputReport JSON."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from strongroom.media.errors import VerificationError
from strongroom.media.output_kinds import OutputKind


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
    how uploads address them (``<output_base_url>/<index>/<relative path>``). ``main_file`` is
    what the status ``url`` points at: the file of single-file outputs, the HLS master
    playlist, ``thumbnails.vtt`` for a thumbnail series, ``metadata.json`` for metadata.
    ``bitrate`` is in kbps (0 for pictures); ``width``/``height`` are those of the largest
    rendition, of one picture (one sprite cell), or of the source for metadata (0 when there
    is no picture, e.g. audio-only).
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


def read_small_text(path: Path, limit: int = 1 << 20) -> str:
    """The UTF-8 text of one of our own small files (playlist, index); refuses anything odd."""
    if path.is_symlink() or not path.is_file() or path.stat().st_size > limit:
        raise VerificationError(detail=f"{path.name} missing or too large")
    try:
        return path.read_text(encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise VerificationError(detail=f"{path.name} is not UTF-8") from None
