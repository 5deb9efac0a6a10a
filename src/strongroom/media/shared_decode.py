"""The main command: every streamed output of a task from one ffmpeg process. Pure.

Each distinct clip window (start_time, duration) is one input, decoded once. Its picture is
``split`` to every video rendition (``scale``, ``setsar=1``, ``format=yuv420p``), every
thumbnails series and every gif; its sound is ``asplit`` to every audio encode (the audio of
mp4/webm/HLS/DASH renditions, and mp3/flac/hls_audio outputs). Every mp4/webm is one output,
every advanced_hls one ``hls`` muxer output with ``-var_stream_map``, every advanced_dash and
webm_dash one ``dash`` muxer output (``dash_muxer``), every hls_audio one audio-only ``hls``
output, every mp3/flac one audio file, every picture output one ``image2``/``gif``/``webp``
output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from strongroom.media import encoders, ladder
from strongroom.media.dash_muxer import dash_muxer
from strongroom.media.encoders import TwoPass
from strongroom.media.hls_layout import AUDIO_NAME, VARIANT, layout_of, video_name
from strongroom.media.jobspec import OutputKind, OutputSpec, Rendition
from strongroom.media.output_kinds import (
    DASH_KINDS,
    LADDER_KINDS,
    TRAITS,
    default_audio_codec,
    default_video_codec,
)
from strongroom.media.picture_plan import PlannedPictures, picture_filters, picture_muxer
from strongroom.media.picture_rules import DEFAULT_PIX_FORMAT, encoder_profile, rotation_filters
from strongroom.media.plan_types import PlannedRendition

CHUNKLIST_NAME = "chunklist.m3u8"
SEGMENT_PATTERN = "segment_%05d.ts"
AUDIO_DIR = AUDIO_NAME
PASSLOG_DIR = "passlog"
NO_METADATA = ("-map_metadata", "-1", "-map_chapters", "-1")
FILE_NAMES = {
    OutputKind.MP4: "video.mp4",
    OutputKind.WEBM: "video.webm",
    OutputKind.MP3: "audio.mp3",
    OutputKind.FLAC: "audio.flac",
}
_MUXERS = {OutputKind.MP4: "mp4", OutputKind.WEBM: "webm", OutputKind.MP3: "mp3"}


@dataclass(frozen=True)
class Window:
    """A clip window; one decoded input each."""

    start: float | None
    duration: float | None

    @classmethod
    def of(cls, output: OutputSpec) -> Window:
        """The window ``output`` reads (``start_time`` 0 is no seek)."""
        return cls(output.start_time or None, output.duration)


@dataclass(frozen=True)
class Encode:
    """One video encode inside the main process.

    ``dar`` (width, height) is the display aspect ratio to keep instead of square pixels;
    ``fps`` the frame rate it encodes at and ``fps_filter`` the rate to convert to (None: keep
    the source's frames).
    """

    label: int
    input_index: int
    rendition: Rendition
    planned: PlannedRendition
    fps: float
    threads: int
    dar: tuple[int, int] | None = None
    fps_filter: str | None = None


@dataclass(frozen=True)
class PictureTap:
    """One picture output fed from the main decode."""

    label: int
    input_index: int
    pictures: PlannedPictures


@dataclass(frozen=True)
class MainOutputs:
    """What the main command produces, per output index."""

    outputs: Sequence[OutputSpec]
    windows: Sequence[Window]
    encodes: Mapping[int, list[Encode]]
    pictures: Mapping[int, PictureTap]
    has_audio: bool


def main_output_args(main: MainOutputs) -> tuple[str, ...]:
    """The filter graph and every output's options, in output order."""
    audio = _audio_sources(main)
    args = ["-filter_complex_threads", "1", "-filter_complex", _filter_graph(main, audio)]
    next_audio = 0
    for output in main.outputs:
        count = sum(1 for owner, _, _ in audio if owner == output.index)
        labels = list(range(next_audio, next_audio + count))
        next_audio += count
        args += _one_output(main, output, [(n, audio[n][2]) for n in labels])
    return tuple(args)


def _audio_sources(main: MainOutputs) -> list[tuple[int, int, Rendition]]:
    """(output index, input index, rendition whose audio settings apply) per audio encode."""
    sources: list[tuple[int, int, Rendition]] = []
    for output in main.outputs:
        if not main.has_audio or not TRAITS[output.kind].audio_codecs or muted(output):
            continue
        window = main.windows.index(Window.of(output))
        if output.kind in (OutputKind.MP3, OutputKind.FLAC, OutputKind.HLS_AUDIO):
            sources.append((output.index, window, output.renditions[0]))
        elif output.kind in DASH_KINDS or (
            output.kind is OutputKind.ADVANCED_HLS and output.separate_audio
        ):
            # One audio rendition shared by all variants: the best requested quality.
            best = max(output.renditions, key=lambda r: r.audio_bitrate)
            sources.append((output.index, window, best))
        elif output.kind is OutputKind.ADVANCED_HLS:
            sources.extend((output.index, window, r) for r in output.renditions)
        else:
            sources.append((output.index, window, output.renditions[0]))
    return sources


def muted(output: OutputSpec) -> bool:
    """True when the output's renditions asked for no sound (``audio_mute``)."""
    return bool(output.renditions) and all(r.audio_mute for r in output.renditions)


def _filter_graph(main: MainOutputs, audio: list[tuple[int, int, Rendition]]) -> str:
    flat = [encode for group in main.encodes.values() for encode in group]
    taps = [(e.label, e.input_index) for e in flat]
    taps += [(p.label, p.input_index) for p in main.pictures.values()]
    taps.sort()
    parts: list[str] = []
    for index in range(len(main.windows)):
        mine = [label for label, window in taps if window == index]
        if mine:
            parts.append(f"[{index}:v:0]split={len(mine)}" + "".join(f"[s{n}]" for n in mine))
        heard = [n for n, (_, window, _) in enumerate(audio) if window == index]
        if heard:
            parts.append(f"[{index}:a:0]asplit={len(heard)}" + "".join(f"[a{n}]" for n in heard))
    chains = {e.label: _scale_chain(e) for e in flat}
    chains.update({p.label: picture_filters(p.pictures, p.label) for p in main.pictures.values()})
    parts.extend(chains[label] for label, _ in taps)
    return ";".join(parts)


def _scale_chain(encode: Encode) -> str:
    rendition, width, height = encode.rendition, encode.planned.width, encode.planned.height
    steps = ["bwdif=mode=send_frame:deint=all"] if rendition.deinterlace else []
    if encode.fps_filter is not None:
        steps.append(f"fps={encode.fps_filter}")
    steps += rotation_filters(rendition.rotate)
    if rendition.resize_mode == "crop":
        # Cover the requested size, then cut the overflow evenly from both sides.
        steps += [f"scale={width}:{height}:force_original_aspect_ratio=increase"]
        steps += [f"crop={width}:{height}"]
    else:
        steps.append(f"scale={width}:{height}")
    steps.append(f"setdar={encode.dar[0]}/{encode.dar[1]}" if encode.dar else "setsar=1")
    steps.append(f"format={rendition.pix_format or DEFAULT_PIX_FORMAT}")
    return f"[s{encode.label}]{','.join(steps)}[v{encode.label}]"


def _one_output(
    main: MainOutputs, output: OutputSpec, audio: list[tuple[int, Rendition]]
) -> list[str]:
    directory = f"out{output.index}"
    if output.index in main.pictures:
        tap = main.pictures[output.index]
        quality = output.images.quality if output.images else None
        animated = tap.pictures.fps is not None
        return [
            "-map",
            f"[v{tap.label}]",
            *encoders.picture_options(tap.pictures.image_format, quality, animated=animated),
            *NO_METADATA,
            *picture_muxer(directory, tap.pictures),
        ]
    group = main.encodes.get(output.index, [])
    args: list[str] = []
    for encode in group:
        args += ["-map", f"[v{encode.label}]"]
    for label, _ in audio:
        args += ["-map", f"[a{label}]"]
    ladder_kind = output.kind in LADDER_KINDS
    for position, encode in enumerate(group):
        args += _video_options(
            output.kind, position, encode, output.segment_duration if ladder_kind else None
        )
    for position, (_, rendition) in enumerate(audio):
        args += _audio_options(output.kind, position, rendition)
    args += NO_METADATA
    if output.kind is OutputKind.ADVANCED_HLS:
        return args + _hls_muxer(output, len(group), bool(audio))
    if output.kind in DASH_KINDS:
        return args + dash_muxer(output, bool(audio))
    if output.kind is OutputKind.HLS_AUDIO:
        return args + _hls_audio_muxer(output)
    return args + _file_muxer(output)


def _video_options(
    kind: OutputKind, position: int, encode: Encode, segment: int | None, pass_number: int = 2
) -> list[str]:
    s = f"v:{position}"
    planned, rendition = encode.planned, encode.rendition
    codec = rendition.video_codec or default_video_codec(kind) or "libx264"
    args = encoders.video_options(
        codec,
        position,
        crf=planned.crf,
        bitrate=planned.video_bitrate,
        ceiling=ladder.default_bitrate(planned.width, planned.height),
        profile=encoder_profile(codec, rendition.profile, rendition.pix_format),
        threads=encode.threads,
        params=rendition.video_codec_parameters,
        segmented=segment is not None,
        two_pass=TwoPass(pass_number, passlog(encode.label)) if rendition.two_pass else None,
    )
    args += [f"-g:{s}", str(ladder.gop_frames(rendition, encode.fps))]
    if segment is not None:
        # Segment boundaries must start with a keyframe or players stall on seek; x264 also
        # needs closed GOPs and no scene-cut keyframes to keep the renditions aligned (x265
        # gets the same through its parameters, and IDR frames where we force keyframes).
        if codec == "libx264":
            args += [f"-sc_threshold:{s}", "0", f"-flags:{s}", "+cgop"]
        if codec == "libx265":
            args += [f"-forced-idr:{s}", "1"]
        args += [f"-force_key_frames:{s}", f"expr:gte(t,n_forced*{segment})"]
    return args


def passlog(label: int) -> str:
    """The two-pass log of video encode ``label``, relative to the job directory."""
    return f"{PASSLOG_DIR}/v{label}"


def two_pass_encodes(main: MainOutputs) -> list[tuple[OutputSpec, Encode]]:
    """The encodes of ``main`` that asked for two passes, in output order."""
    return [
        (output, encode)
        for output in main.outputs
        for encode in main.encodes.get(output.index, [])
        if encode.rendition.two_pass
    ]


def first_pass_args(main: MainOutputs) -> tuple[str, ...]:
    """A first pass for the two-pass encodes of ``main``: same pictures, statistics only.

    ffmpeg names a pass log after the stream's index among all the command's output streams,
    so this command has the main command's outputs and streams in the same order, each output
    going to the null muxer: the two-pass encodes run their first pass (writing ``passlog``),
    every other stream is passed through unencoded (``wrapped_avframe``, audio as PCM).
    """
    audio = _audio_sources(main)
    args = ["-filter_complex_threads", "1", "-filter_complex", _filter_graph(main, audio)]
    next_audio = 0
    for output in main.outputs:
        count = sum(1 for owner, _, _ in audio if owner == output.index)
        args += _first_pass_output(main, output, range(next_audio, next_audio + count))
        next_audio += count
    return tuple(args)


def _first_pass_output(main: MainOutputs, output: OutputSpec, audio: range) -> list[str]:
    if output.index in main.pictures:
        maps = ["-map", f"[v{main.pictures[output.index].label}]"]
        return [*maps, "-c:v:0", "wrapped_avframe", "-f", "null", "-"]
    group = main.encodes.get(output.index, [])
    args = [item for e in group for item in ("-map", f"[v{e.label}]")]
    args += [item for label in audio for item in ("-map", f"[a{label}]")]
    segment = output.segment_duration if output.kind in LADDER_KINDS else None
    for position, encode in enumerate(group):
        if encode.rendition.two_pass:
            args += _video_options(output.kind, position, encode, segment, pass_number=1)
        else:
            args += [f"-c:v:{position}", "wrapped_avframe"]
    for position in range(len(audio)):
        args += [f"-c:a:{position}", "pcm_s16le"]  # wrapped_avframe is video-only
    return [*args, "-f", "null", "-"]


def _audio_options(kind: OutputKind, position: int, rendition: Rendition) -> list[str]:
    return encoders.audio_options(
        rendition.audio_codec or default_audio_codec(kind) or "aac",
        position,
        bitrate=rendition.audio_bitrate,
        sample_rate=rendition.audio_sample_rate,
        channels=rendition.audio_channels,
    )


def _file_muxer(output: OutputSpec) -> list[str]:
    target = f"out{output.index}/{FILE_NAMES[output.kind]}"
    if output.kind is OutputKind.MP4:
        return ["-movflags", "+faststart", "-f", "mp4", target]
    return ["-f", _MUXERS.get(output.kind, output.kind.value), target]


def _hls_muxer(output: OutputSpec, videos: int, has_audio: bool) -> list[str]:
    directory = f"out{output.index}"
    layout = layout_of(output)
    segment_type = ["-hls_segment_type", "fmp4" if layout.fmp4 else "mpegts"]
    if layout.fmp4:
        segment_type += ["-hls_fmp4_init_filename", layout.init_segment()]
    return [
        "-f",
        "hls",
        "-hls_time",
        str(output.segment_duration),
        "-hls_playlist_type",
        "vod",
        "-hls_flags",
        "independent_segments",
        *segment_type,
        "-hls_segment_filename",
        f"{directory}/{layout.segments(VARIANT)}",
        "-master_pl_name",
        str(output.manifest_name),
        "-var_stream_map",
        _var_stream_map(videos, has_audio, output.separate_audio),
        f"{directory}/{layout.playlist(VARIANT)}",
    ]


def _hls_audio_muxer(output: OutputSpec) -> list[str]:
    """hls_audio: one AAC rendition in ``audio/`` under a master that lists it as a variant."""
    directory = f"out{output.index}"
    return [
        "-f",
        "hls",
        "-hls_time",
        str(output.segment_duration),
        "-hls_playlist_type",
        "vod",
        "-hls_segment_type",
        "mpegts",
        "-hls_segment_filename",
        f"{directory}/%v/{SEGMENT_PATTERN}",
        "-master_pl_name",
        str(output.manifest_name),
        "-var_stream_map",
        f"a:0,name:{AUDIO_DIR}",
        f"{directory}/%v/{CHUNKLIST_NAME}",
    ]


def _var_stream_map(videos: int, has_audio: bool, separate_audio: bool) -> str:
    if has_audio and separate_audio:
        group = "agroup:audio"
        entries = [f"v:{n},{group},name:{video_name(n + 1)}" for n in range(videos)]
        return " ".join([*entries, f"a:0,{group},name:{AUDIO_DIR}"])
    if has_audio:
        return " ".join(f"v:{n},a:{n},name:{video_name(n + 1)}" for n in range(videos))
    return " ".join(f"v:{n},name:{video_name(n + 1)}" for n in range(videos))
