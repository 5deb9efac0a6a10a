"""Plan a task: ``JobSpec`` + ``MediaInfo`` -> ffmpeg commands. Pure: no I/O, golden-tested.

Decode once: a task is one ffmpeg process. Each distinct clip window (start_time, duration)
is one input, decoded once and ``split`` to every rendition that uses it (``scale``,
``setsar=1``, ``format=yuv420p`` per rendition); audio is decoded once and ``asplit`` to each
audio encode. Every mp4 is one output, every advanced_hls one ``hls`` muxer output with
``-var_stream_map``. Per-rendition encoder options carry stream specifiers (``-crf:v:1``)
relative to their output file.

Layout in the job directory: ``out<i>/video.mp4``, or ``out<i>/<playlist_name>`` with
``out<i>/video_<n>/chunklist.m3u8`` + ``segment_%05d.ts`` per rendition (n from 1, as
Qencode names them) and ``out<i>/audio/`` for the separate audio rendition.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from strongroom.media import ladder
from strongroom.media.errors import InputRejected
from strongroom.media.jobspec import JobSpec, OutputKind, OutputSpec, Rendition
from strongroom.media.probe import MediaInfo, VideoStreamInfo

X264_PRESET = "veryfast"
MP4_NAME = "video.mp4"
CHUNKLIST_NAME = "chunklist.m3u8"
SEGMENT_PATTERN = "segment_%05d.ts"
AUDIO_DIR = "audio"


@dataclass(frozen=True)
class InputFile:
    """One ``-i`` input: a path relative to the job directory and the options before ``-i``."""

    path: str
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class FfmpegCommand:
    """Everything ffmpeg needs except the binary and the hardening flags (see ``build_argv``).

    ``output_dirs`` (relative to the job directory) are created by the runner before the start.
    """

    inputs: tuple[InputFile, ...]
    output_args: tuple[str, ...]
    expected_duration: float
    output_dirs: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlannedRendition:
    """The picture size and rate control chosen for one rendition."""

    width: int
    height: int
    video_bitrate: int | None
    crf: int | None
    audio_bitrate: int


@dataclass(frozen=True)
class PlannedOutput:
    """Where an output lands and what verification should find there.

    ``directory`` is ``out<index>``; ``main_file`` is relative to the job directory.
    """

    index: int
    kind: OutputKind
    directory: str
    main_file: str
    renditions: tuple[PlannedRendition, ...]
    expected_duration: float
    has_audio: bool
    segment_duration: int | None
    separate_audio: bool = False

    def variant_dirs(self) -> tuple[str, ...]:
        """HLS only: the per-rendition folders, relative to the job directory."""
        return tuple(f"{self.directory}/video_{n}" for n in range(1, len(self.renditions) + 1))


@dataclass(frozen=True)
class JobPlan:
    """The commands to run, in order, and the outputs they produce."""

    commands: tuple[FfmpegCommand, ...]
    outputs: tuple[PlannedOutput, ...]


@dataclass(frozen=True)
class _Encode:
    """One video encode inside the single ffmpeg process."""

    label: int
    input_index: int
    rendition: Rendition
    planned: PlannedRendition
    fps: float
    threads: int


@dataclass(frozen=True)
class _Window:
    start: float | None
    duration: float | None


def plan_job(
    spec: JobSpec, info: MediaInfo, *, source_path: str = "source", threads: int | None = None
) -> JobPlan:
    """Plan ``spec`` for a source described by ``info`` at ``source_path`` (job-relative).

    ``threads`` is the number of cores to budget for; None means ``os.cpu_count()``. Raises
    ``InputRejected`` when the source can't serve the spec (no video, clip beyond the end).
    """
    if info.video is None:
        raise InputRejected("the source has no video stream")
    windows = _windows(spec)
    expected = tuple(_expected_duration(output, info.duration) for output in spec.outputs)
    encodes = _plan_encodes(spec, info.video, windows, threads or os.cpu_count() or 1)
    has_audio = info.audio is not None
    outputs = tuple(
        _planned_output(o, e, expected[o.index], has_audio)
        for o, e in zip(spec.outputs, encodes, strict=True)
    )
    command = FfmpegCommand(
        inputs=tuple(_input_file(source_path, window) for window in windows),
        output_args=_output_args(spec, windows, encodes, has_audio),
        expected_duration=max(expected),
        output_dirs=tuple(output.directory for output in outputs),
    )
    return JobPlan(commands=(command,), outputs=outputs)


def _windows(spec: JobSpec) -> list[_Window]:
    windows: list[_Window] = []
    for output in spec.outputs:
        window = _Window(output.start_time or None, output.duration)
        if window not in windows:
            windows.append(window)
    return windows


def _expected_duration(output: OutputSpec, source_duration: float) -> float:
    start = output.start_time or 0.0
    if start >= source_duration:
        raise InputRejected(f"format[{output.index}].start_time is beyond the end of the source")
    available = source_duration - start
    return min(output.duration, available) if output.duration else available


def _plan_encodes(
    spec: JobSpec, video: VideoStreamInfo, windows: list[_Window], cores: int
) -> list[list[_Encode]]:
    width, height = video.display_size
    pairs = [(o, r) for o in spec.outputs for r in o.renditions]
    sizes = [ladder.fit_size(r, width, height) for _, r in pairs]
    shares = iter(ladder.split_encoder_threads([w * h for w, h in sizes], cores))
    labels = iter(range(len(pairs)))
    size_of = iter(sizes)
    return [
        [
            _encode(
                next(labels),
                windows.index(_Window(o.start_time or None, o.duration)),
                r,
                size=next(size_of),
                source_fps=video.fps,
                threads=next(shares),
            )
            for r in o.renditions
        ]
        for o in spec.outputs
    ]


def _encode(
    label: int,
    input_index: int,
    rendition: Rendition,
    *,
    size: tuple[int, int],
    source_fps: float,
    threads: int,
) -> _Encode:
    width, height = size
    bitrate = rendition.bitrate
    if rendition.quality is None and bitrate is None:
        bitrate = ladder.default_bitrate(width, height)
    planned = PlannedRendition(
        width=width,
        height=height,
        video_bitrate=bitrate,
        crf=rendition.quality,
        audio_bitrate=rendition.audio_bitrate,
    )
    return _Encode(
        label=label,
        input_index=input_index,
        rendition=rendition,
        planned=planned,
        fps=ladder.output_fps(rendition, source_fps),
        threads=threads,
    )


def _planned_output(
    output: OutputSpec, encodes: list[_Encode], expected: float, has_audio: bool
) -> PlannedOutput:
    directory = f"out{output.index}"
    hls = output.kind is OutputKind.ADVANCED_HLS
    return PlannedOutput(
        index=output.index,
        kind=output.kind,
        directory=directory,
        main_file=f"{directory}/{output.playlist_name if hls else MP4_NAME}",
        renditions=tuple(encode.planned for encode in encodes),
        expected_duration=expected,
        has_audio=has_audio,
        segment_duration=output.segment_duration if hls else None,
        separate_audio=hls and has_audio and output.separate_audio,
    )


def _input_file(source_path: str, window: _Window) -> InputFile:
    # One decoder thread: the measured layout gives the cores to x264 instead (T3).
    options = ["-threads", "1"]
    if window.start is not None:
        options += ["-ss", _number(window.start)]
    if window.duration is not None:
        options += ["-t", _number(window.duration)]
    return InputFile(path=source_path, options=tuple(options))


def _number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _audio_sources(spec: JobSpec, encodes: list[list[_Encode]]) -> list[tuple[int, Rendition]]:
    """(input index, rendition whose audio settings apply) for every audio encode, in order."""
    sources: list[tuple[int, Rendition]] = []
    for output, group in zip(spec.outputs, encodes, strict=True):
        if output.kind is OutputKind.ADVANCED_HLS and output.separate_audio:
            # One audio rendition shared by all variants: the best requested quality.
            best = max(group, key=lambda e: e.rendition.audio_bitrate)
            sources.append((group[0].input_index, best.rendition))
        else:
            sources.extend((e.input_index, e.rendition) for e in group)
    return sources


def _filter_graph(
    windows: list[_Window], encodes: list[list[_Encode]], audio: list[tuple[int, Rendition]]
) -> str:
    flat = [encode for group in encodes for encode in group]
    parts: list[str] = []
    for index in range(len(windows)):
        mine = [e for e in flat if e.input_index == index]
        parts.append(f"[{index}:v:0]split={len(mine)}" + "".join(f"[s{e.label}]" for e in mine))
        heard = [n for n, (i, _) in enumerate(audio) if i == index]
        if heard:
            parts.append(f"[{index}:a:0]asplit={len(heard)}" + "".join(f"[a{n}]" for n in heard))
    parts.extend(_scale_chain(e) for e in flat)
    return ";".join(parts)


def _scale_chain(encode: _Encode) -> str:
    steps = []
    if encode.rendition.framerate is not None:
        steps.append(f"fps={encode.rendition.framerate}")
    steps.append(f"scale={encode.planned.width}:{encode.planned.height}")
    steps += ["setsar=1", "format=yuv420p"]
    return f"[s{encode.label}]{','.join(steps)}[v{encode.label}]"


def _output_args(
    spec: JobSpec, windows: list[_Window], encodes: list[list[_Encode]], has_audio: bool
) -> tuple[str, ...]:
    audio = _audio_sources(spec, encodes) if has_audio else []
    args = [
        "-filter_complex_threads",
        "1",
        "-filter_complex",
        _filter_graph(windows, encodes, audio),
    ]
    next_audio = 0
    for output, group in zip(spec.outputs, encodes, strict=True):
        count = 0 if not has_audio else 1 if _shares_audio(output) else len(group)
        audio_labels = list(range(next_audio, next_audio + count))
        next_audio += count
        args += _one_output(output, group, [(n, audio[n][1]) for n in audio_labels])
    return tuple(args)


def _shares_audio(output: OutputSpec) -> bool:
    return output.kind is OutputKind.MP4 or output.separate_audio


def _one_output(
    output: OutputSpec, group: list[_Encode], audio: list[tuple[int, Rendition]]
) -> list[str]:
    hls = output.kind is OutputKind.ADVANCED_HLS
    args: list[str] = []
    for encode in group:
        args += ["-map", f"[v{encode.label}]"]
    for label, _ in audio:
        args += ["-map", f"[a{label}]"]
    for position, encode in enumerate(group):
        args += _video_options(position, encode, output.segment_duration if hls else None)
    for position, (_, rendition) in enumerate(audio):
        args += _audio_options(position, rendition)
    args += ["-map_metadata", "-1", "-map_chapters", "-1"]
    return args + (_hls_muxer(output, len(group), bool(audio)) if hls else _mp4_muxer(output))


def _video_options(position: int, encode: _Encode, segment: int | None) -> list[str]:
    s = f"v:{position}"
    planned, rendition = encode.planned, encode.rendition
    args = [
        f"-c:{s}",
        "libx264",
        f"-preset:{s}",
        X264_PRESET,
        f"-profile:{s}",
        rendition.profile,
        f"-threads:{s}",
        str(encode.threads),
    ]
    if planned.crf is not None:
        args += [f"-crf:{s}", str(planned.crf)]
    elif planned.video_bitrate is not None:
        args += [f"-b:{s}", f"{planned.video_bitrate}k"]
    if planned.video_bitrate is not None:
        # Capped: maxrate = target, with a two-second buffer, so HLS variants honour BANDWIDTH.
        args += [
            f"-maxrate:{s}",
            f"{planned.video_bitrate}k",
            f"-bufsize:{s}",
            f"{2 * planned.video_bitrate}k",
        ]
    args += [f"-g:{s}", str(ladder.gop_frames(rendition, encode.fps))]
    if segment is not None:
        # Segment boundaries must start with a closed-GOP keyframe or players stall on seek.
        args += [
            f"-sc_threshold:{s}",
            "0",
            f"-flags:{s}",
            "+cgop",
            f"-force_key_frames:{s}",
            f"expr:gte(t,n_forced*{segment})",
        ]
    return args


def _audio_options(position: int, rendition: Rendition) -> list[str]:
    s = f"a:{position}"
    return [
        f"-c:{s}",
        "aac",
        f"-b:{s}",
        f"{rendition.audio_bitrate}k",
        f"-ar:{s}",
        str(rendition.audio_sample_rate),
        f"-ac:{s}",
        str(rendition.audio_channels),
    ]


def _mp4_muxer(output: OutputSpec) -> list[str]:
    return ["-movflags", "+faststart", "-f", "mp4", f"out{output.index}/{MP4_NAME}"]


def _hls_muxer(output: OutputSpec, videos: int, has_audio: bool) -> list[str]:
    directory = f"out{output.index}"
    return [
        "-f",
        "hls",
        "-hls_time",
        str(output.segment_duration),
        "-hls_playlist_type",
        "vod",
        "-hls_flags",
        "independent_segments",
        "-hls_segment_type",
        "mpegts",
        "-hls_segment_filename",
        f"{directory}/%v/{SEGMENT_PATTERN}",
        "-master_pl_name",
        output.playlist_name,
        "-var_stream_map",
        _var_stream_map(videos, has_audio, output.separate_audio),
        f"{directory}/%v/{CHUNKLIST_NAME}",
    ]


def _var_stream_map(videos: int, has_audio: bool, separate_audio: bool) -> str:
    if has_audio and separate_audio:
        group = "agroup:audio"
        entries = [f"v:{n},{group},name:video_{n + 1}" for n in range(videos)]
        return " ".join([*entries, f"a:0,{group},name:{AUDIO_DIR}"])
    if has_audio:
        return " ".join(f"v:{n},a:{n},name:video_{n + 1}" for n in range(videos))
    return " ".join(f"v:{n},name:video_{n + 1}" for n in range(videos))
