"""Encoder options per codec, as ffmpeg output arguments. Pure; golden-tested via the planner.

Stream specifiers (``-crf:v:1``) are relative to the output file the options precede.

Rate control:

* libx264: ``quality`` is ``-crf``; a ``bitrate`` is ``-b:v`` (or, with ``quality``, a cap),
  always with ``-maxrate`` = bitrate and a two-second ``-bufsize`` so HLS variants honour
  their BANDWIDTH.
* libx265: as libx264 (``-maxrate``/``-bufsize`` become x265's VBV), tagged ``hvc1``.
* libsvtav1: ``quality`` is ``-crf`` (capped by ``-maxrate`` when a bitrate is also given);
  a ``bitrate`` alone is SVT-AV1's VBR.
* libvpx-vp9 / libvpx (VP8): ``quality`` alone is constant quality (``-crf`` with
  ``-b:v 0``; VP8 needs a ceiling, so it gets the bitrate the default ladder gives the
  size); ``quality`` + ``bitrate`` is constrained quality (``-crf`` with ``-b:v``); a
  ``bitrate`` alone is capped VBR like x264. Speed: ``-deadline good -cpu-used 4``, VP9 with
  row multithreading (measured about real time for 720p on two cores).
* Pictures: jpg ``quality`` 1..100 maps linearly onto mjpeg's ``-q:v`` 31..2 (default 3);
  webp ``quality`` is libwebp's own 0..100 scale (default 75); png is lossless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from strongroom.media.codec_params import encoder_args
from strongroom.media.output_kinds import ImageFormat

X264_PRESET = "veryfast"
# SVT-AV1's own guidance: presets above 8 are for automated tests; 8 is its fastest for viewing.
SVTAV1_PRESET = "8"
VPX_DEADLINE = "good"
VPX_CPU_USED = "4"
JPG_DEFAULT_QSCALE = 3
WEBP_DEFAULT_QUALITY = 75


@dataclass(frozen=True)
class TwoPass:
    """Which pass of a two-pass encode to run, and its log file (job-relative, no extension)."""

    number: int
    log: str


def video_options(
    codec: str,
    position: int,
    *,
    crf: int | None,
    bitrate: int | None,
    ceiling: int,
    profile: str | None,
    threads: int,
    params: Sequence[tuple[str, str]] = (),
    segmented: bool = False,
    two_pass: TwoPass | None = None,
) -> list[str]:
    """Encoder, speed and rate-control options for video stream ``position`` of an output.

    ``ceiling`` is the default-ladder bitrate for the picture size (VP8 constant quality);
    ``params`` are checked ``video_codec_parameters`` (a ``preset`` among them replaces ours);
    ``segmented`` asks for closed GOPs without scene-cut keyframes (HLS/DASH alignment).
    """
    s = f"v:{position}"
    chosen = dict(params)
    preset = chosen.pop("preset", None)
    own: list[str] = []
    profiled = [f"-profile:{s}", profile] if profile else []
    if codec == "libx264":
        speed = [f"-preset:{s}", preset or X264_PRESET, *profiled]
        rate = _x264_rate(s, crf, bitrate)
    elif codec == "libx265":
        # hvc1 (parameter sets in the sample entry) is the tag Apple's players accept.
        speed = [f"-preset:{s}", preset or X264_PRESET, *profiled, f"-tag:{s}", "hvc1"]
        rate = _x264_rate(s, crf, bitrate)
        own = ["log-level=error"] + (["scenecut=0", "open-gop=0"] if segmented else [])
        if two_pass is not None:
            # ffmpeg's -pass doesn't reach x265: its own pass and stats file do.
            own += [f"pass={two_pass.number}", f"stats={two_pass.log}.log"]
            two_pass = None
    elif codec == "libsvtav1":
        speed = [f"-preset:{s}", preset or SVTAV1_PRESET]
        rate = _svtav1_rate(s, crf, bitrate)
    else:
        speed = [f"-deadline:{s}", VPX_DEADLINE, f"-cpu-used:{s}", VPX_CPU_USED]
        if codec == "libvpx-vp9":
            speed += [f"-row-mt:{s}", "1"]
        rate = _vpx_rate(s, crf, bitrate, ceiling if codec == "libvpx" else 0)
    tuned = encoder_args(codec, s, tuple(chosen.items()), own)
    passes = [] if two_pass is None else [f"-pass:{s}", str(two_pass.number)]
    passes += [] if two_pass is None else [f"-passlogfile:{s}", two_pass.log]
    return [f"-c:{s}", codec, *speed, f"-threads:{s}", str(threads), *rate, *tuned, *passes]


def _svtav1_rate(s: str, crf: int | None, bitrate: int | None) -> list[str]:
    # SVT-AV1: CRF, optionally capped (-maxrate); or a bitrate alone, its VBR mode.
    if crf is not None:
        cap = [f"-maxrate:{s}", f"{bitrate}k"] if bitrate is not None else []
        return [f"-crf:{s}", str(crf), *cap]
    return [] if bitrate is None else [f"-b:{s}", f"{bitrate}k"]


def _x264_rate(s: str, crf: int | None, bitrate: int | None) -> list[str]:
    args: list[str] = []
    if crf is not None:
        args += [f"-crf:{s}", str(crf)]
    elif bitrate is not None:
        args += [f"-b:{s}", f"{bitrate}k"]
    return args + _capped(s, bitrate)


def _vpx_rate(s: str, crf: int | None, bitrate: int | None, ceiling: int) -> list[str]:
    if crf is not None:
        cap = bitrate if bitrate is not None else ceiling
        return [f"-crf:{s}", str(crf), f"-b:{s}", f"{cap}k" if cap else "0"]
    if bitrate is None:
        return []
    return [f"-b:{s}", f"{bitrate}k", *_capped(s, bitrate)]


def _capped(s: str, bitrate: int | None) -> list[str]:
    if bitrate is None:
        return []
    return [f"-maxrate:{s}", f"{bitrate}k", f"-bufsize:{s}", f"{2 * bitrate}k"]


def audio_options(
    codec: str, position: int, *, bitrate: int, sample_rate: int, channels: int
) -> list[str]:
    """Encoder options for audio stream ``position``; flac is lossless and takes no bitrate."""
    s = f"a:{position}"
    rate = [] if codec == "flac" else [f"-b:{s}", f"{bitrate}k"]
    return [f"-c:{s}", codec, *rate, f"-ar:{s}", str(sample_rate), f"-ac:{s}", str(channels)]


def picture_pixel_format(fmt: ImageFormat) -> str:
    """The pixel format to convert to before the picture encoder (mjpeg wants full range)."""
    return {
        ImageFormat.PNG: "rgb24",
        ImageFormat.JPG: "yuvj420p",
        ImageFormat.WEBP: "yuv420p",
        ImageFormat.GIF: "rgb24",
    }[fmt]


def picture_options(fmt: ImageFormat, quality: int | None, *, animated: bool) -> list[str]:
    """Encoder options for the one picture stream of an image output."""
    if fmt is ImageFormat.PNG:
        return ["-c:v:0", "png"]
    if fmt is ImageFormat.JPG:
        return ["-c:v:0", "mjpeg", "-q:v:0", str(jpg_qscale(quality))]
    if fmt is ImageFormat.GIF:
        return ["-c:v:0", "gif"]
    encoder = "libwebp_anim" if animated else "libwebp"
    webp_quality = WEBP_DEFAULT_QUALITY if quality is None else quality
    return ["-c:v:0", encoder, "-quality:v:0", str(webp_quality)]


def jpg_qscale(quality: int | None) -> int:
    """Map ``quality`` 1 (worst) .. 100 (best) onto mjpeg's ``-q:v`` 31 .. 2."""
    if quality is None:
        return JPG_DEFAULT_QSCALE
    return round(31 - (quality - 1) * 29 / 99)
