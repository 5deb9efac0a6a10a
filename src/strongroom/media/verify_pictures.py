"""Verify picture outputs (thumbnail, thumbnails, gif) and produce/verify metadata outputs.

* Every picture file must be one we planned: ``thumbnail.<ext>``, or a series numbered
  ``1..n`` without gaps and nothing else in the folder; ``n`` within one of the planned
  count (sprites: the sheets that count fills), because a clip's last frame can fall either
  side of an interval boundary. The first and last pictures are probed for codec and
  dimensions (one picture, or ``columns x rows`` cells for a sprite sheet) and the whole
  series is decoded in one pass with ``-xerror``.
* ``thumbnails.vtt`` is then written for the pictures actually made (``thumbnail_index``)
  and read back strictly: cue times ordered, every target an existing picture, every sprite
  region inside its sheet.
* gif: probed (codec, size, duration); animated webp: PyAV's demuxer can't read it, so its
  canvas size and frame count come from the file's RIFF chunks (``webp_animation``); both are
  decoded end to end by ffmpeg.
* metadata: the source is probed again (sandboxed, untrusted policy) and the ffprobe-style
  JSON written to ``metadata.json``, then re-read: it must parse and describe a format and
  at least one stream.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from strongroom.media.allowlists import InputPolicy
from strongroom.media.errors import MediaError, VerificationError
from strongroom.media.output_kinds import ImageFormat, OutputKind
from strongroom.media.output_report import OutputReport, list_files, read_small_text
from strongroom.media.picture_plan import INDEX_NAME, PlannedPictures
from strongroom.media.plan_types import PlannedOutput
from strongroom.media.probe import parse_probe
from strongroom.media.runner import Runner
from strongroom.media.thumbnail_index import index_cues, parse_index, write_index

GIF_TOLERANCE = 0.5
MAX_METADATA_BYTES = 8 << 20
_CODECS = {
    ImageFormat.PNG: "png",
    ImageFormat.JPG: "mjpeg",
    ImageFormat.WEBP: "webp",
    ImageFormat.GIF: "gif",
}


def verify_pictures(runner: Runner, planned: PlannedOutput, job_dir: Path) -> OutputReport:
    """Check a thumbnail, thumbnails or gif output (writing the thumbnails index first)."""
    pictures = planned.pictures
    if pictures is None:
        raise VerificationError(detail="not a picture output")
    out_dir = job_dir / planned.directory
    if planned.kind is OutputKind.THUMBNAILS:
        made = _check_series(runner, planned, pictures, job_dir)
        _write_and_check_index(out_dir, pictures, made, planned.expected_duration)
    else:
        made = _check_single(runner, planned, pictures, job_dir)
    files = list_files(out_dir)
    main = Path(planned.main_file).relative_to(planned.directory).as_posix()
    return OutputReport(
        index=planned.index,
        kind=planned.kind,
        main_file=main,
        files=files,
        duration=planned.expected_duration,
        bitrate=0,
        width=pictures.width,
        height=pictures.height,
        renditions=(
            {
                "width": pictures.width,
                "height": pictures.height,
                "bitrate": 0,
                "video_codec": _CODECS[pictures.image_format],
                "audio_codec": None,
                "pictures": made,
            },
        ),
    )


def _check_single(
    runner: Runner, planned: PlannedOutput, pictures: PlannedPictures, job_dir: Path
) -> int:
    """thumbnail / gif: exactly the one planned file. Returns the picture (frame) count."""
    out_dir = job_dir / planned.directory
    names = [path.name for path in out_dir.iterdir()]
    if names != [pictures.file_name]:
        raise VerificationError(detail=f"{planned.directory} holds {sorted(names)[:5]}")
    path = out_dir / pictures.file_name
    animated_webp = pictures.fps is not None and pictures.image_format is ImageFormat.WEBP
    if animated_webp:
        width, height, frames = webp_animation(path)
        if (width, height) != (pictures.width, pictures.height):
            raise VerificationError(detail=f"animation is {width}x{height}")
        _check_animation_length(planned, pictures, frames / (pictures.fps or 1))
    else:
        stream, duration = _probe_picture(runner, path)
        _check_picture(stream, pictures.image_format, (pictures.width, pictures.height))
        frames = int(stream.get("nb_frames", 1))
        if pictures.fps is not None:
            _check_animation_length(planned, pictures, duration)
    _decode(runner, job_dir, Path(planned.directory) / pictures.file_name)
    return frames


def _check_animation_length(
    planned: PlannedOutput, pictures: PlannedPictures, seconds: float
) -> None:
    # gif delays are whole centiseconds: allow that rounding on every frame on top.
    tolerance = GIF_TOLERANCE + 0.005 * pictures.count
    if abs(seconds - planned.expected_duration) > tolerance:
        raise VerificationError(
            detail=f"animation lasts {seconds:.3f}s, planned {planned.expected_duration:.3f}s"
        )


def _check_series(
    runner: Runner, planned: PlannedOutput, pictures: PlannedPictures, job_dir: Path
) -> int:
    """thumbnails: the numbered files. Returns how many thumbnails they hold."""
    out_dir = job_dir / planned.directory
    files = _numbered_files(out_dir, pictures.file_name)
    planned_files = pictures.sheets if pictures.sprite else pictures.count
    if not files or abs(len(files) - planned_files) > 1:
        raise VerificationError(detail=f"{len(files)} pictures, planned {planned_files}")
    size = (pictures.width, pictures.height)
    if pictures.sprite:
        size = (pictures.width * pictures.columns, pictures.height * pictures.rows)
    for path in {files[0], files[-1]}:
        _check_picture(_probe_picture(runner, path)[0], pictures.image_format, size)
    _decode(runner, job_dir, Path(planned.directory) / pictures.file_name)
    if not pictures.sprite:
        return len(files)
    per_sheet = pictures.columns * pictures.rows
    return min(max(pictures.count, (len(files) - 1) * per_sheet + 1), len(files) * per_sheet)


def _numbered_files(out_dir: Path, pattern: str) -> list[Path]:
    prefix, _, suffix = pattern.partition("%04d")
    numbered: dict[int, Path] = {}
    for path in out_dir.iterdir():
        middle = path.name.removeprefix(prefix).removesuffix(suffix)
        if path.name == INDEX_NAME:
            continue
        if not (path.name.startswith(prefix) and path.name.endswith(suffix) and middle.isdigit()):
            raise VerificationError(detail=f"unexpected file {path.name[:80]}")
        numbered[int(middle)] = path
    if sorted(numbered) != list(range(1, len(numbered) + 1)):
        raise VerificationError(detail="pictures are not numbered 1..n")
    return [numbered[n] for n in sorted(numbered)]


def _probe_picture(runner: Runner, path: Path) -> tuple[dict[str, Any], float]:
    try:
        document = runner.probe_json(path, policy=InputPolicy.OWN_OUTPUT)
    except MediaError as exc:
        raise VerificationError(detail=f"probe of own picture failed: {exc.detail}") from None
    streams = [s for s in document.get("streams", []) if isinstance(s, dict)]
    if len(streams) != 1 or streams[0].get("codec_type") != "video":
        raise VerificationError(detail=f"{path.name} is not one picture stream")
    duration = document.get("format", {}).get("duration", "0")
    return streams[0], float(duration)


def _check_picture(stream: dict[str, Any], fmt: ImageFormat, size: tuple[int, int]) -> None:
    if stream.get("codec_name") != _CODECS[fmt]:
        raise VerificationError(detail=f"picture codec {stream.get('codec_name')!r}, want {fmt}")
    got = (stream.get("width"), stream.get("height"))
    if got != size:
        raise VerificationError(detail=f"picture size {got} differs from planned {size}")


def _decode(runner: Runner, job_dir: Path, relative: Path) -> None:
    runner.decode_check(relative, cwd=job_dir, expected_duration=1.0)


def _write_and_check_index(
    out_dir: Path, pictures: PlannedPictures, count: int, duration: float
) -> None:
    index_path = out_dir / INDEX_NAME
    index_path.write_text(write_index(index_cues(pictures, count, duration)), encoding="utf-8")
    cues = parse_index(read_small_text(index_path))
    if len(cues) != count:
        raise VerificationError(detail=f"index has {len(cues)} cues for {count} thumbnails")
    sheet = (pictures.width * pictures.columns, pictures.height * pictures.rows)
    for cue in cues:
        if not (out_dir / cue.file).is_file():
            raise VerificationError(detail=f"index points at missing {cue.file}")
        if cue.region is not None:
            x, y, w, h = cue.region
            if x + w > sheet[0] or y + h > sheet[1]:
                raise VerificationError(detail=f"index region outside {cue.file}")


def webp_animation(path: Path) -> tuple[int, int, int]:
    """``(canvas width, canvas height, frames)`` of an animated WebP, from its RIFF chunks.

    Written here because PyAV's bundled demuxers can't read animated WebP, and the header
    layout (a ``VP8X`` chunk with the animation flag and 24-bit sizes minus one, one ``ANMF``
    chunk per frame) is fixed by the WebP container specification.
    """
    with path.open("rb") as stream:
        head = stream.read(12)
        if len(head) != 12 or head[:4] != b"RIFF" or head[8:] != b"WEBP":
            raise VerificationError(detail=f"{path.name} is not a WebP file")
        canvas: tuple[int, int] | None = None
        frames = 0
        while chunk := stream.read(8):
            if len(chunk) != 8:
                raise VerificationError(detail=f"{path.name} is truncated")
            tag, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if tag == b"VP8X":
                canvas = _vp8x_canvas(stream.read(size), path.name)
                size = 0
            frames += tag == b"ANMF"
            stream.seek(size + (size & 1), 1)
    if canvas is None or frames == 0:
        raise VerificationError(detail=f"{path.name} is not an animated WebP")
    return canvas[0], canvas[1], frames


def _vp8x_canvas(body: bytes, name: str) -> tuple[int, int]:
    if len(body) < 10 or not body[0] & 0x02:
        raise VerificationError(detail=f"{name} lacks the animation flag")
    return 1 + int.from_bytes(body[4:7], "little"), 1 + int.from_bytes(body[7:10], "little")


def verify_metadata(runner: Runner, planned: PlannedOutput, job_dir: Path) -> OutputReport:
    """Write the source's probe JSON to the output's ``metadata.json`` and check it."""
    out_dir = job_dir / planned.directory
    # No ffmpeg command made this folder (metadata needs none): create it, never follow a link.
    out_dir.mkdir(exist_ok=True)
    if out_dir.is_symlink() or not out_dir.is_dir():
        raise VerificationError(detail=f"{planned.directory} is not a folder")
    document = runner.probe_json(job_dir / planned.source)
    target = job_dir / planned.main_file
    target.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    try:
        parsed = json.loads(read_small_text(target, MAX_METADATA_BYTES))
        info = parse_probe(parsed)
    except (ValueError, MediaError):
        raise VerificationError(detail="metadata.json does not describe the source") from None
    if not parsed["streams"]:
        raise VerificationError(detail="metadata.json lists no streams")
    width, height = info.video.display_size if info.video else (0, 0)
    files = list_files(out_dir)
    if [item.path for item in files] != [target.name]:
        raise VerificationError(detail="the metadata output holds other files")
    bitrate = round(info.bit_rate / 1000) if info.bit_rate else 0
    return OutputReport(
        index=planned.index,
        kind=planned.kind,
        main_file=target.name,
        files=files,
        duration=info.duration,
        bitrate=bitrate,
        width=width,
        height=height,
        renditions=(),
    )


__all__ = ["verify_metadata", "verify_pictures", "webp_animation"]
