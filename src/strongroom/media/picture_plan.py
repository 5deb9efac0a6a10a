"""Plan picture outputs: ``thumbnail``, ``thumbnails`` (series or sprite sheets) and ``gif``.

Pure functions; the planner assembles their pieces into commands.

* ``thumbnails``: one picture every ``interval`` seconds of the clip (default 10), from t=0,
  so ``ceil(duration / interval)`` of them, named ``thumb_0001.<ext>``... With ``sprite`` they
  are tiled ``columns`` (default 10) wide into sheets ``sprite_0001.<ext>``..., each at most
  ``MAX_SHEET_SIDE`` pixels tall (a sheet holds ``columns`` x ``rows`` pictures; the last one
  may have empty, black cells). The WebVTT index ``thumbnails.vtt`` is written after the encode
  (``thumbnail_index``). Taken from the shared decode with ``fps=1/interval`` (with
  ``eof_action=pass``, which yields exactly the ceil count).
* ``thumbnail``: one picture at ``time`` x clip duration (default 0.5, the middle; kept two
  frames before the end so a frame exists), or exactly frame ``frame_number`` (counted from
  the clip start) when given. A separate short command: it seeks instead of decoding the
  whole source.
* ``gif``: an animated gif (per-frame palettes, ``palettegen=stats_mode=single`` +
  ``paletteuse=new=1``, which stream instead of buffering the whole clip) or animated webp,
  at ``framerate`` or else the source rate capped at 10 fps (gif delays are whole
  centiseconds: 10 fps keeps the duration exact).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from strongroom.media.encoders import picture_pixel_format
from strongroom.media.errors import InputRejected
from strongroom.media.jobspec import ImageSettings, OutputKind, OutputSpec, parse_framerate
from strongroom.media.output_kinds import TRAITS, ImageFormat

DEFAULT_INTERVAL = 10.0
DEFAULT_COLUMNS = 10
DEFAULT_TIME = 0.5
GIF_DEFAULT_MAX_FPS = 10.0
MAX_THUMBNAILS = 5000
MAX_SHEET_SIDE = 8192
INDEX_NAME = "thumbnails.vtt"
FALLBACK_FPS = 30.0
_EXTENSIONS = {ImageFormat.PNG: "png", ImageFormat.JPG: "jpg", ImageFormat.WEBP: "webp"}


@dataclass(frozen=True)
class PlannedPictures:
    """What a picture output will contain.

    ``width``/``height`` are one picture's (one sprite cell's); ``count`` the pictures planned
    (gif: frames); ``file_name`` the file, or for series a printf pattern (``thumb_%04d.png``)
    numbered from 1; ``columns``/``rows`` the sprite grid (0 when not a sprite).
    """

    image_format: ImageFormat
    width: int
    height: int
    count: int
    file_name: str
    interval: float | None = None
    columns: int = 0
    rows: int = 0
    fps: float | None = None

    @property
    def sprite(self) -> bool:
        """True when the pictures are tiled into sprite sheets."""
        return self.columns > 0

    @property
    def sheets(self) -> int:
        """How many sprite sheets the planned count fills (0 when not a sprite)."""
        return math.ceil(self.count / (self.columns * self.rows)) if self.sprite else 0

    @property
    def files(self) -> int:
        """How many picture files are planned."""
        return self.sheets if self.sprite else 1 if "%" not in self.file_name else self.count


def plan_pictures(
    output: OutputSpec, size: tuple[int, int], duration: float, source_fps: float
) -> PlannedPictures:
    """Plan the pictures of a thumbnail, thumbnails or gif ``output`` of a clip of ``duration``.

    Raises ``InputRejected`` when the request can't be met for this source (too many
    thumbnails, a sprite row too wide, a frame number past the end).
    """
    images = output.images or ImageSettings()
    fmt = images.image_format or TRAITS[output.kind].image_formats[0]
    width, height = size
    if output.kind is OutputKind.GIF:
        return _plan_animation(output, fmt, size, duration, source_fps)
    if output.kind is OutputKind.THUMBNAIL:
        _check_frame_number(output, images, duration, source_fps)
        return PlannedPictures(fmt, width, height, 1, f"thumbnail.{_EXTENSIONS[fmt]}")
    interval = images.interval or DEFAULT_INTERVAL
    count = max(1, math.ceil(duration / interval - 1e-9))
    if count > MAX_THUMBNAILS:
        raise InputRejected(
            f"format[{output.index}] would make {count} thumbnails; the limit is "
            f"{MAX_THUMBNAILS}: use a longer interval"
        )
    extension = _EXTENSIONS[fmt]
    if not images.sprite:
        return PlannedPictures(fmt, width, height, count, f"thumb_%04d.{extension}", interval)
    columns = images.columns or DEFAULT_COLUMNS
    if columns * width > MAX_SHEET_SIDE:
        raise InputRejected(
            f"format[{output.index}]: a sprite row would be wider than {MAX_SHEET_SIDE} "
            "pixels: use fewer columns or a smaller size"
        )
    rows = max(1, min(math.ceil(count / columns), MAX_SHEET_SIDE // height))
    name = f"sprite_%04d.{extension}"
    return PlannedPictures(fmt, width, height, count, name, interval, columns, rows)


def _plan_animation(
    output: OutputSpec, fmt: ImageFormat, size: tuple[int, int], duration: float, fps: float
) -> PlannedPictures:
    framerate = output.renditions[0].framerate
    if framerate is not None:
        rate = float(parse_framerate(framerate))
    else:
        rate = min(fps or FALLBACK_FPS, GIF_DEFAULT_MAX_FPS)
    count = max(1, round(duration * rate))
    name = "animation.gif" if fmt is ImageFormat.GIF else "animation.webp"
    return PlannedPictures(fmt, size[0], size[1], count, name, fps=rate)


def _check_frame_number(
    output: OutputSpec, images: ImageSettings, duration: float, fps: float
) -> None:
    if images.frame_number is not None and fps > 0 and images.frame_number >= duration * fps:
        raise InputRejected(f"format[{output.index}].frame_number is beyond the end of the clip")


def picture_filters(pictures: PlannedPictures, label: int) -> str:
    """The filter graph part from ``[s<label>]`` (a split of the decode) to ``[v<label>]``."""
    scale = f"scale={pictures.width}:{pictures.height},setsar=1"
    if pictures.fps is not None and pictures.image_format is ImageFormat.GIF:
        palette = f"[g{label}a]palettegen=stats_mode=single[g{label}p]"
        return (
            f"[s{label}]fps={_number(pictures.fps)},{scale},split[g{label}a][g{label}b];"
            f"{palette};[g{label}b][g{label}p]paletteuse=new=1[v{label}]"
        )
    steps = []
    if pictures.fps is not None:
        steps.append(f"fps={_number(pictures.fps)}")
    if pictures.interval is not None:
        steps.append(f"fps=1/{_number(pictures.interval)}:eof_action=pass")
    steps += [scale, f"format={picture_pixel_format(pictures.image_format)}"]
    if pictures.sprite:
        steps.append(f"tile={pictures.columns}x{pictures.rows}")
    return f"[s{label}]{','.join(steps)}[v{label}]"


def picture_muxer(directory: str, pictures: PlannedPictures) -> list[str]:
    """Muxer options and the file (or pattern) of a picture output."""
    target = f"{directory}/{pictures.file_name}"
    if pictures.fps is not None:
        muxer = "gif" if pictures.image_format is ImageFormat.GIF else "webp"
        return ["-loop", "0", "-f", muxer, target]
    if "%" in pictures.file_name:
        # No frame duplication or dropping: one file per picture the filters produce.
        return ["-fps_mode:v:0", "passthrough", "-start_number", "1", "-f", "image2", target]
    return ["-frames:v:0", "1", "-update", "1", "-f", "image2", target]


def thumbnail_seek(output: OutputSpec, duration: float, source_fps: float) -> tuple[float, str]:
    """``(seconds into the clip to seek to, select filter prefix)`` for a single thumbnail.

    A ``frame_number`` decodes from the clip start and selects that frame exactly; a ``time``
    seeks there (at least two frames before the end, so a frame exists).
    """
    images = output.images or ImageSettings()
    if images.frame_number is not None:
        return 0.0, f"select='eq(n,{images.frame_number})',"
    fraction = DEFAULT_TIME if images.time is None else images.time
    last = max(0.0, duration - 2.0 / (source_fps or FALLBACK_FPS))
    return min(fraction * duration, last), ""


def _number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")
