"""Encoder options per codec, as ffmpeg output arguments. Pure; golden-tested via the planner.

Stream specifiers (``-crf:v:1``) are relative to the output file the options precede.

Rate control:

* libx264: ``quality`` is ``-crf``; a ``bitrate`` is ``-b:v`` (or, with ``quality``, a cap),
  always with ``-maxrate`` = bitrate and a two-second ``-bufsize`` so HLS variants honour
  their BANDWIDTH.
* libvpx-vp9 / libvpx (VP8): ``quality`` alone is constant quality (``-crf`` with
  ``-b:v 0``; VP8 needs a ceiling, so it gets the bitrate the default ladder gives the
  size); ``quality`` + ``bitrate`` is constrained quality (``-crf`` with ``-b:v``); a
  ``bitrate`` alone is capped VBR like x264. Speed: ``-deadline good -cpu-used 4``, VP9 with
  row multithreading (measured about real time for 720p on two cores).
* Pictures: jpg ``quality`` 1..100 maps linearly onto mjpeg's ``-q:v`` 31..2 (default 3);
  webp ``quality`` is libwebp's own 0..100 scale (default 75); png is lossless.
"""

from __future__ import annotations

from strongroom.media.output_kinds import ImageFormat

X264_PRESET = "veryfast"
VPX_DEADLINE = "good"
VPX_CPU_USED = "4"
JPG_DEFAULT_QSCALE = 3
WEBP_DEFAULT_QUALITY = 75


def video_options(
    codec: str,
    position: int,
    *,
    crf: int | None,
    bitrate: int | None,
    ceiling: int,
    profile: str,
    threads: int,
) -> list[str]:
    """Encoder, speed and rate-control options for video stream ``position`` of an output.

    ``ceiling`` is the default-ladder bitrate for the picture size (VP8 constant quality).
    """
    s = f"v:{position}"
    if codec == "libx264":
        speed = [f"-preset:{s}", X264_PRESET, f"-profile:{s}", profile]
        rate = _x264_rate(s, crf, bitrate)
    else:
        speed = [f"-deadline:{s}", VPX_DEADLINE, f"-cpu-used:{s}", VPX_CPU_USED]
        if codec == "libvpx-vp9":
            speed += [f"-row-mt:{s}", "1"]
        rate = _vpx_rate(s, crf, bitrate, ceiling if codec == "libvpx" else 0)
    return [f"-c:{s}", codec, *speed, f"-threads:{s}", str(threads), *rate]


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
