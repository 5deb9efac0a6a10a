"""Plan a ``vmaf`` output: one libvmaf run after the encodes, writing libvmaf's JSON log. Pure.

The measured (distorted) file is our own mp4/webm output (``vmaf_settings``); the reference is
the source, cut to that output's clip window and given the same frame rate and deinterlacing,
so frame n of one is frame n of the other. Both are scaled (bicubic) to the source's displayed
size, at most 2160 lines on the short side (libvmaf's 4K model is the largest), and converted
to 8-bit 4:2:0. The command's only output is the null muxer; the score is libvmaf's log,
``out<i>/vmaf.json`` (its own layout: per-frame metrics, ``pooled_metrics`` and
``aggregate_metrics``), which verification reads back (``verify_vmaf``).
"""

from __future__ import annotations

import math
import os

from strongroom.media import ladder
from strongroom.media.jobspec import OutputKind, OutputSpec
from strongroom.media.plan_types import FfmpegCommand, InputFile, PlannedOutput
from strongroom.media.probe import MediaInfo
from strongroom.media.shared_decode import FILE_NAMES
from strongroom.media.vmaf_settings import VmafSettings, default_model, measured_index

VMAF_NAME = "vmaf.json"
MAX_SHORT_SIDE = 2160


def measured(output: OutputSpec, outputs: list[OutputSpec]) -> OutputSpec:
    """The output a vmaf ``output`` measures (the JobSpec made sure it exists and fits)."""
    settings = output.vmaf or VmafSettings()
    index = measured_index(outputs, settings)
    return next(o for o in outputs if o.index == index)


def plan_vmafs(
    outputs: list[OutputSpec],
    info: MediaInfo,
    expected: dict[int, float],
    source_path: str,
    commands: list[FfmpegCommand],
    threads: int | None,
) -> dict[int, OutputSpec]:
    """Append one command per vmaf output to ``commands`` (they run after the encodes), set
    each one's ``expected`` seconds, and return the output each measures, by vmaf index."""
    targets = {o.index: measured(o, outputs) for o in outputs if o.kind is OutputKind.VMAF}
    for index, target in targets.items():
        output = outputs[index]
        expected[index] = expected_seconds(output, expected[target.index])
        commands.append(
            plan_vmaf(
                output,
                target,
                info,
                seconds=expected[index],
                source_path=source_path,
                threads=threads or os.cpu_count() or 1,
            )
        )
    return targets


def expected_seconds(output: OutputSpec, target_seconds: float) -> float:
    """How much a vmaf output analyses: its target's clip, shortened by its ``duration``."""
    return min(target_seconds, output.duration) if output.duration else target_seconds


def plan_vmaf(
    output: OutputSpec,
    target: OutputSpec,
    info: MediaInfo,
    *,
    seconds: float,
    source_path: str,
    threads: int,
) -> FfmpegCommand:
    """The libvmaf command of ``output`` measuring ``target`` over ``seconds``."""
    assert info.video is not None  # the measured mp4/webm needed video  # noqa: S101
    settings = output.vmaf or VmafSettings()
    width, height = measure_size(info.video.display_size)
    scale = f"scale={width}:{height}:flags=bicubic,setsar=1,format=yuv420p"
    rendition = target.renditions[0]
    same = ["bwdif=mode=send_frame:deint=all"] if rendition.deinterlace else []
    rate = ladder.fps_filter(rendition, info.video.fps)
    same += [f"fps={rate}"] if rate else []
    model = settings.model or default_model(*info.video.display_size)
    vmaf = (
        f"libvmaf=model=version={model}:n_subsample={settings.n_subsample}"
        f":shortest={int(settings.shortest)}:log_fmt=json"
        f":log_path=out{output.index}/{VMAF_NAME}:n_threads={threads}"
    )
    graph = ";".join(
        [
            f"[0:v:0]setpts=PTS-STARTPTS,{scale}[d]",
            f"[1:v:0]{','.join([*same, 'setpts=PTS-STARTPTS', scale])}[r]",
            f"[d][r]{vmaf}[m]",
        ]
    )
    window = ["-t", _number(seconds)]
    start = ["-ss", _number(target.start_time)] if target.start_time else []
    return FfmpegCommand(
        inputs=(
            InputFile(f"out{target.index}/{FILE_NAMES[target.kind]}", ("-threads", "1", *window)),
            InputFile(source_path, ("-threads", "1", *start, *window)),
        ),
        output_args=(
            *("-filter_complex_threads", "1", "-filter_complex", graph),
            *("-map", "[m]", "-f", "null", "-"),
        ),
        expected_duration=seconds,
        output_dirs=(f"out{output.index}",),
    )


def planned_vmaf(
    output: OutputSpec, target: OutputSpec, info: MediaInfo, *, seconds: float, source_path: str
) -> PlannedOutput:
    """What verification should find: the log of about ``seconds`` x fps / n_subsample frames."""
    settings = output.vmaf or VmafSettings()
    fps = ladder.output_fps(target.renditions[0], info.video.fps if info.video else 0.0)
    directory = f"out{output.index}"
    return PlannedOutput(
        index=output.index,
        kind=output.kind,
        directory=directory,
        main_file=f"{directory}/{VMAF_NAME}",
        renditions=(),
        expected_duration=seconds,
        has_audio=False,
        segment_duration=None,
        video_codec=None,
        audio_codec=None,
        source=source_path,
        vmaf_frames=math.ceil(seconds * fps / settings.n_subsample),
    )


def measure_size(display: tuple[int, int]) -> tuple[int, int]:
    """The size both videos are compared at: the source's, short side at most 2160."""
    width, height = display
    short = min(width, height)
    if short <= MAX_SHORT_SIDE:
        return width, height
    factor = MAX_SHORT_SIDE / short
    return ladder.even(width * factor), ladder.even(height * factor)


def _number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")
