"""Plan a ``repack`` output: the source's streams copied into another container. Pure.

Nothing is decoded or encoded (``-c copy``), so a repack is as fast as reading the file, and
whether it can work depends only on the source's codecs, which are known once the source is
probed: the query can't tell (Qencode's ``repack`` names no codecs), so the container check
runs here and refuses the job with a message that names the codec, the container and the flag
that would leave the stream out. The tables below are what ffmpeg's muxers accept, by the codec
names the probe reports.
"""

from __future__ import annotations

from strongroom.media.errors import InputRejected
from strongroom.media.jobspec import OutputSpec, RepackSettings
from strongroom.media.plan_types import FfmpegCommand, InputFile
from strongroom.media.probe import MediaInfo

_MP4_VIDEO = frozenset({"h264", "hevc", "av1", "vp9", "mpeg4", "mpeg2video", "mpeg1video", "mjpeg"})
_MP4_AUDIO = frozenset({"aac", "mp3", "mp2", "ac3", "eac3", "opus", "flac", "alac"})
_PCM = frozenset(
    {"pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_s24be", "pcm_s32le", "pcm_f32le", "pcm_u8"}
)
_TEXT_SUBTITLES = frozenset({"subrip", "srt", "ass", "ssa", "webvtt"})
_PICTURE_SUBTITLES = frozenset({"dvd_subtitle", "hdmv_pgs_subtitle", "dvb_subtitle"})

# container -> (video codecs, audio codecs, subtitle codecs) it can hold.
FITS: dict[str, tuple[frozenset[str], frozenset[str], frozenset[str]]] = {
    "mp4": (_MP4_VIDEO, _MP4_AUDIO, frozenset({"mov_text"})),
    "mov": (_MP4_VIDEO | {"prores", "dnxhd", "png"}, _MP4_AUDIO | _PCM, frozenset({"mov_text"})),
    "mkv": (
        _MP4_VIDEO | {"vp8", "prores", "dnxhd", "theora", "png"},
        _MP4_AUDIO | _PCM | {"vorbis"},
        _TEXT_SUBTITLES | _PICTURE_SUBTITLES,
    ),
    "webm": (
        frozenset({"vp8", "vp9", "av1"}),
        frozenset({"opus", "vorbis"}),
        frozenset({"webvtt"}),
    ),
    "ts": (
        frozenset({"h264", "hevc", "mpeg2video", "mpeg1video", "mpeg4"}),
        frozenset({"aac", "mp3", "mp2", "ac3", "eac3", "opus"}),
        frozenset({"dvb_subtitle"}),
    ),
}
MUXERS = {"mp4": "mp4", "mov": "mov", "mkv": "matroska", "webm": "webm", "ts": "mpegts"}
# The probe names decoders; some formats have two (fixed/float), one name per format here.
_SAME_FORMAT = {
    "mp3float": "mp3",
    "mp2float": "mp2",
    "aac_fixed": "aac",
    "ac3_fixed": "ac3",
    "libopus": "opus",
    "libvorbis": "vorbis",
    "libdav1d": "av1",
}
_FLAGS = {"video": "video_copy", "audio": "audio_copy", "subtitle": "subtitles_copy"}


def settings_of(output: OutputSpec) -> RepackSettings:
    """The output's repack settings (all defaults when the query set none)."""
    return output.repack or RepackSettings()


def file_name(output: OutputSpec) -> str:
    """``video.<container>``: what the status ``url`` points at."""
    return f"video.{settings_of(output).container}"


def format_name(codec: str) -> str:
    """The format a probe's decoder name stands for (``mp3float`` -> ``mp3``)."""
    return _SAME_FORMAT.get(codec, codec)


def kept_streams(output: OutputSpec, info: MediaInfo) -> tuple[tuple[str, str], ...]:
    """``(type, format)`` of every source stream the repack keeps, in file order."""
    settings = settings_of(output)
    keep = {"video": settings.video, "audio": settings.audio, "subtitle": settings.subtitles}
    return tuple((kind, format_name(codec)) for kind, codec in info.codecs if keep[kind])


def plan_repack(output: OutputSpec, info: MediaInfo, source_path: str) -> FfmpegCommand:
    """The stream-copy command for ``output``; ``InputRejected`` if a kept stream can't fit."""
    settings = settings_of(output)
    kept = kept_streams(output, info)
    _check_fits(output.index, settings.container, kept)
    directory = f"out{output.index}"
    return FfmpegCommand(
        inputs=(InputFile(path=source_path, options=("-threads", "1")),),
        output_args=(
            *_maps(settings),
            "-c",
            "copy",
            *_metadata(settings),
            *_muxer(settings.container),
            f"{directory}/{file_name(output)}",
        ),
        expected_duration=info.duration,
        output_dirs=(directory,),
    )


def _check_fits(index: int, container: str, kept: tuple[tuple[str, str], ...]) -> None:
    if not any(kind in ("video", "audio") for kind, _ in kept):
        raise InputRejected(f"format[{index}]: the source has none of the streams to repack")
    video, audio, subtitles = FITS[container]
    allowed = {"video": video, "audio": audio, "subtitle": subtitles}
    for kind, codec in kept:
        if codec not in allowed[kind]:
            raise InputRejected(
                f"format[{index}]: the source's {codec} {kind} can't be put in {container}"
                f" without re-encoding (choose another file_extension or set {_FLAGS[kind]} to 0)"
            )


def _maps(settings: RepackSettings) -> list[str]:
    # "V" (not "v") leaves out cover art; "?" lets a missing type map to nothing.
    maps: list[str] = []
    for keep, spec in ((settings.video, "0:V?"), (settings.audio, "0:a?")):
        if keep:
            maps += ["-map", spec]
    if settings.subtitles:
        maps += ["-map", "0:s?"]
    return maps


def _metadata(settings: RepackSettings) -> list[str]:
    if settings.metadata:
        return ["-map_metadata", "0", "-map_chapters", "0"]
    return ["-map_metadata", "-1", "-map_chapters", "-1"]


def _muxer(container: str) -> list[str]:
    if container in ("mp4", "mov"):
        return ["-movflags", "+faststart", "-f", MUXERS[container]]
    return ["-f", MUXERS[container]]
