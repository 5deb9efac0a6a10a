"""Plan a task: ``JobSpec`` + ``MediaInfo`` -> ffmpeg commands. Pure: no I/O, golden-tested.

Decode once, where that is cheaper:

1. The main command (``shared_decode``), when any output streams the clip: every mp4, webm,
   advanced_hls, advanced_dash, webm_dash, hls_audio, mp3, flac, thumbnails and gif output
   comes from one ffmpeg process; each clip window is decoded once and split to all of them
   (so mp4 + webm + mp3 + sprites is one decode).
2. One short command per ``thumbnail`` output: a single picture seeks to its time instead of
   decoding the whole source (``picture_plan``), so it runs after the main command.
3. ``metadata`` needs no ffmpeg at all: verification writes the source's probe JSON.
4. One stream-copy command per ``repack`` output (``repack_plan``): nothing to decode.
5. One libvmaf command per ``vmaf`` output, after the encode it measures (``vmaf_plan``).

Renditions with ``two_pass`` add a first pass before the main command: the same decode with
those encodes writing their statistics to ``passlog/`` and everything else discarded
(``shared_decode.first_pass_args``).

Layout in the job directory, per output ``out<i>/``: ``video.mp4``, ``video.webm``,
``audio.mp3``, ``audio.flac``, ``thumbnail.<ext>``, ``thumb_0001.<ext>``... or
``sprite_0001.<ext>``... plus ``thumbnails.vtt``, ``animation.gif`` / ``animation.webp``,
``metadata.json``, ``vmaf.json``; or for HLS ``<playlist_name>`` with
``video_<n>/chunklist.m3u8`` + ``segment_%05d.ts`` per rendition (n from 1, as Qencode names
them) and ``audio/`` for the separate audio rendition, or the ``hls_layout`` that fmp4 and
single_folder ask for (hls_audio: the master and ``audio/`` only); for DASH the MPD and
its segments (``dash_muxer``); for repack ``video.<container>``. ``PlannedOutput.main_file``
is what the status ``url`` points at: the file itself, the HLS master playlist, the MPD, or
``thumbnails.vtt`` for a thumbnail series.
"""

from __future__ import annotations

import os

from strongroom.media import ladder, repack_plan, vmaf_plan
from strongroom.media.dash_muxer import hls_master_name
from strongroom.media.encoders import X264_PRESET, picture_options, picture_pixel_format
from strongroom.media.errors import InputRejected
from strongroom.media.hls_layout import layout_of
from strongroom.media.jobspec import JobSpec, OutputKind, OutputSpec, Rendition
from strongroom.media.output_kinds import (
    DASH_KINDS,
    LADDER_KINDS,
    SEGMENTED_KINDS,
    TRAITS,
    default_audio_codec,
    default_video_codec,
)
from strongroom.media.picture_plan import (
    INDEX_NAME,
    PlannedPictures,
    picture_muxer,
    plan_pictures,
    thumbnail_seek,
)
from strongroom.media.picture_rules import DEFAULT_PIX_FORMAT, rotated
from strongroom.media.plan_types import (
    FfmpegCommand,
    InputFile,
    JobPlan,
    PlannedOutput,
    PlannedRendition,
)
from strongroom.media.probe import MediaInfo
from strongroom.media.shared_decode import (
    AUDIO_DIR,
    CHUNKLIST_NAME,
    FILE_NAMES,
    NO_METADATA,
    PASSLOG_DIR,
    SEGMENT_PATTERN,
    Encode,
    MainOutputs,
    PictureTap,
    Window,
    first_pass_args,
    main_output_args,
    muted,
    two_pass_encodes,
)

__all__ = [
    "AUDIO_DIR",
    "CHUNKLIST_NAME",
    "INDEX_NAME",
    "METADATA_NAME",
    "MP4_NAME",
    "SEGMENT_PATTERN",
    "X264_PRESET",
    "FfmpegCommand",
    "InputFile",
    "JobPlan",
    "PlannedOutput",
    "PlannedRendition",
    "plan_job",
]

MP4_NAME = FILE_NAMES[OutputKind.MP4]
METADATA_NAME = "metadata.json"
_NOT_STREAMED = (OutputKind.THUMBNAIL, OutputKind.METADATA, OutputKind.REPACK, OutputKind.VMAF)
_AUDIO_ONLY = (OutputKind.MP3, OutputKind.FLAC, OutputKind.HLS_AUDIO)


def plan_job(
    spec: JobSpec, info: MediaInfo, *, source_path: str = "source", threads: int | None = None
) -> JobPlan:
    """Plan ``spec`` for a source described by ``info`` at ``source_path`` (job-relative).

    ``threads`` is the number of cores to budget for; None means ``os.cpu_count()``. Raises
    ``InputRejected`` when the source can't serve the spec (no video for a video or picture
    output, no audio for an audio-only one, a clip beyond the end, too many thumbnails).
    """
    _check_streams(spec, info)
    expected = {o.index: _expected_duration(o, info.duration) for o in spec.outputs}
    fps = info.video.fps if info.video else 0.0
    pictures = {
        o.index: plan_pictures(o, _picture_size(o.renditions[0], info), expected[o.index], fps)
        for o in spec.outputs
        if TRAITS[o.kind].image_formats
    }
    streamed = [o for o in spec.outputs if o.kind not in _NOT_STREAMED]
    commands: list[FfmpegCommand] = []
    if streamed:
        main, planned_renditions = _main(streamed, info, pictures, threads or os.cpu_count() or 1)
        if two_pass_encodes(main):
            commands.append(_main_command(main, source_path, expected, first_pass=True))
        commands.append(_main_command(main, source_path, expected))
    else:
        planned_renditions = {}
    commands += [
        _thumbnail_command(o, pictures[o.index], source_path, expected[o.index], fps)
        for o in spec.outputs
        if o.kind is OutputKind.THUMBNAIL
    ]
    commands += [
        repack_plan.plan_repack(o, info, source_path)
        for o in spec.outputs
        if o.kind is OutputKind.REPACK
    ]
    targets = vmaf_plan.plan_vmafs(spec.outputs, info, expected, source_path, commands, threads)
    outputs = tuple(
        vmaf_plan.planned_vmaf(
            o, targets[o.index], info, seconds=expected[o.index], source_path=source_path
        )
        if o.kind is OutputKind.VMAF
        else _planned_output(
            o,
            planned_renditions.get(o.index, ()),
            expected[o.index],
            info,
            pictures.get(o.index),
            source_path,
        )
        for o in spec.outputs
    )
    return JobPlan(commands=tuple(commands), outputs=outputs)


def _check_streams(spec: JobSpec, info: MediaInfo) -> None:
    kinds = {output.kind for output in spec.outputs}
    if info.video is None and any(TRAITS[k].video_codecs or TRAITS[k].image_formats for k in kinds):
        raise InputRejected("the source has no video stream")
    if info.audio is None and kinds & set(_AUDIO_ONLY):
        raise InputRejected("the source has no audio stream")


def _expected_duration(output: OutputSpec, source_duration: float) -> float:
    start = output.start_time or 0.0
    if start >= source_duration:
        raise InputRejected(f"format[{output.index}].start_time is beyond the end of the source")
    available = source_duration - start
    return min(output.duration, available) if output.duration else available


def _picture_size(rendition: Rendition, info: MediaInfo) -> tuple[int, int]:
    assert info.video is not None  # _check_streams made sure  # noqa: S101 - type narrowing
    return ladder.fit_size(rendition, *info.video.display_size)


def _main(
    streamed: list[OutputSpec],
    info: MediaInfo,
    pictures: dict[int, PlannedPictures],
    cores: int,
) -> tuple[MainOutputs, dict[int, tuple[PlannedRendition, ...]]]:
    windows: list[Window] = []
    for output in streamed:
        if Window.of(output) not in windows:
            windows.append(Window.of(output))
    encodes = _plan_encodes(streamed, info, windows, cores)
    first_picture = sum(len(group) for group in encodes.values())
    picture_outputs = [o for o in streamed if o.index in pictures]
    taps = {
        o.index: PictureTap(first_picture + n, windows.index(Window.of(o)), pictures[o.index])
        for n, o in enumerate(picture_outputs)
    }
    main = MainOutputs(streamed, windows, encodes, taps, info.audio is not None)
    planned = {index: tuple(e.planned for e in group) for index, group in encodes.items()}
    return main, planned


def _plan_encodes(
    streamed: list[OutputSpec], info: MediaInfo, windows: list[Window], cores: int
) -> dict[int, list[Encode]]:
    video_outputs = [o for o in streamed if TRAITS[o.kind].video_codecs]
    if not video_outputs:
        return {}
    assert info.video is not None  # _check_streams made sure  # noqa: S101 - type narrowing
    source = info.video.display_size
    pairs = [(o, r) for o in video_outputs for r in o.renditions]
    sizes = [ladder.fit_size(r, *rotated(source, r.rotate)) for _, r in pairs]
    shares = ladder.split_encoder_threads([w * h for w, h in sizes], cores)
    encodes: dict[int, list[Encode]] = {o.index: [] for o in video_outputs}
    for label, ((output, rendition), size, threads) in enumerate(
        zip(pairs, sizes, shares, strict=True)
    ):
        encodes[output.index].append(
            _encode(
                label,
                windows.index(Window.of(output)),
                rendition,
                size=size,
                source_fps=info.video.fps,
                threads=threads,
                dar=ladder.display_aspect(output, rendition, rotated(source, rendition.rotate)),
            )
        )
    return encodes


def _encode(
    label: int,
    input_index: int,
    rendition: Rendition,
    *,
    size: tuple[int, int],
    source_fps: float,
    threads: int,
    dar: tuple[int, int] | None = None,
) -> Encode:
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
    return Encode(
        label=label,
        input_index=input_index,
        rendition=rendition,
        planned=planned,
        fps=ladder.output_fps(rendition, source_fps),
        fps_filter=ladder.fps_filter(rendition, source_fps),
        threads=threads,
        dar=dar,
    )


def _main_command(
    main: MainOutputs, source_path: str, expected: dict[int, float], *, first_pass: bool = False
) -> FfmpegCommand:
    """The main command, or the first pass of its two-pass encodes (which runs before it)."""
    return FfmpegCommand(
        inputs=tuple(_input_file(source_path, w.start, w.duration) for w in main.windows),
        output_args=first_pass_args(main) if first_pass else main_output_args(main),
        expected_duration=max(expected[o.index] for o in main.outputs),
        output_dirs=(PASSLOG_DIR,) if first_pass else tuple(f"out{o.index}" for o in main.outputs),
    )


def _thumbnail_command(
    output: OutputSpec, pictures: PlannedPictures, source_path: str, duration: float, fps: float
) -> FfmpegCommand:
    seek, select = thumbnail_seek(output, duration, fps)
    start = (output.start_time or 0.0) + seek
    fmt = pictures.image_format
    scale = f"scale={pictures.width}:{pictures.height},setsar=1"
    graph = f"[0:v:0]{select}{scale},format={picture_pixel_format(fmt)}[v0]"
    quality = output.images.quality if output.images else None
    directory = f"out{output.index}"
    return FfmpegCommand(
        inputs=(_input_file(source_path, start or None, None),),
        output_args=(
            "-filter_complex_threads",
            "1",
            "-filter_complex",
            graph,
            "-map",
            "[v0]",
            *picture_options(fmt, quality, animated=False),
            *NO_METADATA,
            *picture_muxer(directory, pictures),
        ),
        # A frame number decodes from the clip start; a time seeks straight there.
        expected_duration=duration if select else 1.0,
        output_dirs=(directory,),
    )


def _input_file(source_path: str, start: float | None, duration: float | None) -> InputFile:
    # One decoder thread: the measured layout gives the cores to the encoders instead (T3).
    options = ["-threads", "1"]
    if start is not None:
        options += ["-ss", _number(start)]
    if duration is not None:
        options += ["-t", _number(duration)]
    return InputFile(path=source_path, options=tuple(options))


def _number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _planned_output(
    output: OutputSpec,
    renditions: tuple[PlannedRendition, ...],
    expected: float,
    info: MediaInfo,
    pictures: PlannedPictures | None,
    source_path: str,
) -> PlannedOutput:
    directory = f"out{output.index}"
    if output.kind is OutputKind.REPACK:
        return _planned_repack(output, expected, info, source_path)

    source_has_audio = info.audio is not None and not muted(output)
    segmented = output.kind in SEGMENTED_KINDS
    audio_codec = _audio_codec(output) if source_has_audio else None
    # DASH always puts the audio in its own adaptation set, like HLS's separate audio.
    separate = output.separate_audio or output.kind in DASH_KINDS
    return PlannedOutput(
        index=output.index,
        kind=output.kind,
        directory=directory,
        main_file=f"{directory}/{_main_name(output, pictures)}",
        renditions=renditions,
        expected_duration=expected,
        has_audio=audio_codec is not None,
        segment_duration=output.segment_duration if segmented else None,
        separate_audio=output.kind in LADDER_KINDS and source_has_audio and separate,
        video_codec=_video_codec(output),
        audio_codec=audio_codec,
        pictures=pictures,
        source=source_path,
        audio_layout=_audio_layout(output),
        hls_master=hls_master_name(output),
        hls=layout_of(output) if output.kind is OutputKind.ADVANCED_HLS else None,
        pix_format=_pix_format(output),
    )


def _planned_repack(
    output: OutputSpec, expected: float, info: MediaInfo, source_path: str
) -> PlannedOutput:
    """A repack has no encoders: verification compares its streams with the source's."""
    directory = f"out{output.index}"
    copied = repack_plan.kept_streams(output, info)
    return PlannedOutput(
        index=output.index,
        kind=output.kind,
        directory=directory,
        main_file=f"{directory}/{repack_plan.file_name(output)}",
        renditions=(),
        expected_duration=expected,
        has_audio=any(kind == "audio" for kind, _ in copied),
        segment_duration=None,
        video_codec=None,
        audio_codec=None,
        source=source_path,
        copied_streams=copied,
    )


def _main_name(output: OutputSpec, pictures: PlannedPictures | None) -> str:
    if output.manifest_name is not None:
        return output.manifest_name
    if output.kind is OutputKind.METADATA:
        return METADATA_NAME
    if output.kind is OutputKind.THUMBNAILS:
        return INDEX_NAME
    if pictures is not None:
        return pictures.file_name
    return FILE_NAMES[output.kind]


def _audio_layout(output: OutputSpec) -> tuple[int, int] | None:
    if output.kind not in _AUDIO_ONLY:
        return None
    rendition = output.renditions[0]
    return rendition.audio_sample_rate, rendition.audio_channels


def _video_codec(output: OutputSpec) -> str | None:
    chosen = output.renditions[0].video_codec if output.renditions else None
    return chosen or default_video_codec(output.kind)


def _pix_format(output: OutputSpec) -> str | None:
    if _video_codec(output) is None:
        return None
    return output.renditions[0].pix_format or DEFAULT_PIX_FORMAT


def _audio_codec(output: OutputSpec) -> str | None:
    chosen = output.renditions[0].audio_codec if output.renditions else None
    return chosen or default_audio_codec(output.kind)
