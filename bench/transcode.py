"""T1/T2/T3/T4/T6: Strongroom's transcode stage against raw ffmpeg, plus VMAF (a) vs (b).

The service side is what the worker does for a claimed job: the source lies in an empty job
directory as ``source``, then ``Runner.probe`` -> ``plan_job`` -> ``Runner.run`` (sandbox and
rlimits as configured by default). Each variant runs in a forked child so its CPU and peak
RSS are its own (see ``bench.process``).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from bench import raw_ladder
from bench.abrun import Sample, column, interleave
from bench.context import BenchContext
from bench.mezzanine import HEIGHT, LONG_SECONDS, SHORT_SECONDS, WIDTH, mezzanine
from bench.model import Comparison, Figure, Target, Unit, skipped
from bench.process import measure_forked
from bench.stats import paired_differences, paired_ratios, summarize
from bench.vmaf import vmaf_score
from strongroom.media.jobspec import JobSpec, OutputKind, OutputSpec, Rendition
from strongroom.media.planner import plan_job
from strongroom.media.runner import Runner

SOURCE_NAME = "source"  # the name the worker gives the fetched source
LADDER_SHORT_SIDES = (1080, 720, 480, 360)
TUS_SOURCE = "tus:" + "0" * 32  # never fetched: the file is already in the job directory


def ladder_spec() -> JobSpec:
    """The 4-rung HLS ladder job, with the segment length the baselines use."""
    renditions = [Rendition(resolution=side) for side in LADDER_SHORT_SIDES]
    output = OutputSpec(index=0, kind=OutputKind.ADVANCED_HLS, renditions=renditions,
                        segment_duration=raw_ladder.SEGMENT_SECONDS)
    return JobSpec(source=TUS_SOURCE, outputs=[output])


def single_spec() -> JobSpec:
    """One 720p mp4 with audio (the single-rendition job of T4)."""
    output = OutputSpec(index=0, kind=OutputKind.MP4, renditions=[Rendition(resolution=720)])
    return JobSpec(source=TUS_SOURCE, outputs=[output])


def fresh_dir(path: Path) -> Path:
    """``path`` emptied (or created): every repetition starts from an empty folder."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def service_job(runner: Runner, spec: JobSpec, source: Path, job_dir: Path) -> None:
    """What the worker's probe, plan and transcode stages do, minus the network."""
    fresh_dir(job_dir)
    local = job_dir / SOURCE_NAME
    local.hardlink_to(source)  # the worker downloads; a hard link keeps the copy out of it
    info = runner.probe(local)
    plan = plan_job(spec, info, source_path=SOURCE_NAME)
    percent: list[float] = []
    for command in plan.commands:
        runner.run(command, cwd=job_dir, on_progress=percent.append, cancel=threading.Event())


def run_argvs(argvs: list[list[str]], out: Path) -> None:
    """Run baseline commands one after another in a fresh ``out``."""
    fresh_dir(out)
    for argv in argvs:
        subprocess.run(argv, cwd=out, check=True, stdin=subprocess.DEVNULL)


def naive_job(ffmpeg: Path, source: Path, out: Path) -> None:
    """Baseline (a), including the master playlist the script writes itself."""
    run_argvs(raw_ladder.naive_argvs(ffmpeg, source, out), out)
    (out / "playlist.m3u8").write_text(raw_ladder.naive_master_playlist(), encoding="utf-8")


def _forked(action: Callable[[], None]) -> Callable[[], Sample]:
    return lambda: measure_forked(action)


def ladder_variants(ctx: BenchContext, runner: Runner,
                    source: Path) -> dict[str, Callable[[], Sample]]:
    """The four ladder variants, each measured in its own forked child."""
    work, ffmpeg, spec = ctx.scratch / "ladder", ctx.ffmpeg, ladder_spec()
    return {
        "service": _forked(lambda: service_job(runner, spec, source, work / "service")),
        "raw_b": _forked(lambda: run_argvs(
            [raw_ladder.decode_once_argv(ffmpeg, source, work / "raw_b", tuned=False)],
            work / "raw_b")),
        "raw_c": _forked(lambda: run_argvs(
            [raw_ladder.decode_once_argv(ffmpeg, source, work / "raw_c", tuned=True)],
            work / "raw_c")),
        "naive_a": _forked(lambda: naive_job(ffmpeg, source, work / "naive_a")),
    }


def _ratio(samples: dict[str, list[Sample]], top: str, bottom: str, field: str) -> list[float]:
    return paired_ratios(column(samples[top], field), column(samples[bottom], field))


def _absolute(samples: dict[str, list[Sample]], names: tuple[str, ...],
              seconds: float) -> dict[str, float]:
    context: dict[str, float] = {}
    for name in names:
        wall = summarize(column(samples[name], "wall")).median
        context[f"{name}_wall_s"] = wall
        context[f"{name}_xRT"] = seconds / wall
    return context


def ladder_figures(samples: dict[str, list[Sample]], seconds: float) -> list[Figure]:
    """T1, T2, T3, T6 and the (a)/(b) context figures from the ladder samples."""
    wall = _absolute(samples, ("service", "raw_b", "raw_c", "naive_a"), seconds)
    rss = {f"{n}_rss_MiB": summarize(column(samples[n], "peak_rss_kib")).median / 1024
           for n in ("service", "raw_b", "raw_c")}
    cpu = {f"{n}_cpu_s": summarize(column(samples[n], "cpu")).median
           for n in ("service", "raw_b", "naive_a")}

    def fig(key: str, title: str, values: list[float], target: Target | None,
            context: dict[str, float]) -> Figure:
        return Figure(key=key, title=title, unit=Unit.RATIO, summary=summarize(values),
                      target=target, context=context)

    at_most = Comparison.AT_MOST
    return [
        fig("T1", f"ladder wall, service / raw (b), {seconds:g} s src",
            _ratio(samples, "service", "raw_b", "wall"), Target("T1", at_most, 1.05), wall),
        fig("T1c", "ladder wall, service / tuned raw (c)",
            _ratio(samples, "service", "raw_c", "wall"), Target("T1", at_most, 1.02), {}),
        fig("T2", "ladder CPU-s, service / raw (b)",
            _ratio(samples, "service", "raw_b", "cpu"), Target("T2", at_most, 1.05), cpu),
        fig("T2a", "ladder wall, naive per-rendition (a) / (b)",
            _ratio(samples, "naive_a", "raw_b", "wall"), None, {}),
        fig("T2a-cpu", "ladder CPU-s, naive (a) / (b)",
            _ratio(samples, "naive_a", "raw_b", "cpu"), None, {}),
        fig("T3", "ladder wall, tuned (c) / default threads (b)",
            _ratio(samples, "raw_c", "raw_b", "wall"), Target("T3", at_most, 0.97), {}),
        fig("T6", "ladder peak RSS, service / raw (b)",
            _ratio(samples, "service", "raw_b", "peak_rss_kib"), Target("T6", at_most, 1.1),
            rss),
    ]


def single_figures(ctx: BenchContext, runner: Runner, source: Path) -> list[Figure]:
    """T4: one 720p mp4, service / raw ffmpeg, and the fixed overhead in seconds."""
    work, spec = ctx.scratch / "single", single_spec()
    variants = {
        "service": _forked(lambda: service_job(runner, spec, source, work / "service")),
        "raw": _forked(lambda: run_argvs(
            [raw_ladder.single_720p_argv(ctx.ffmpeg, source, work / "raw" / "video.mp4")],
            work / "raw")),
    }
    samples = interleave(variants, ctx.rounds)
    service, raw = column(samples["service"], "wall"), column(samples["raw"], "wall")
    context = {"service_wall_s": summarize(service).median, "raw_wall_s": summarize(raw).median}
    return [
        Figure(key="T4", title="720p single rendition wall, service / raw",
               unit=Unit.RATIO, summary=summarize(paired_ratios(service, raw)),
               target=Target("T4", Comparison.AT_MOST, 1.05), context=context),
        Figure(key="T4-overhead", title="720p job fixed overhead (service - raw)",
               unit=Unit.SECONDS, summary=summarize(paired_differences(service, raw)),
               target=Target("T4", Comparison.AT_MOST, 0.2)),
    ]


def vmaf_figure(ctx: BenchContext, source: Path) -> Figure:
    """VMAF of the 720p rung: naive (a) minus decode-once (b), equal encoder settings."""
    title = "720p rung VMAF mean, naive (a) - decode-once (b)"
    work = ctx.scratch / "ladder"
    rung = work / "raw_b" / "video_2" / "chunklist.m3u8"
    if not rung.is_file():
        return skipped("VMAF", title, Unit.VMAF, "no ladder outputs to compare")
    subsample = 5 if ctx.quick else 1
    scores = {name: vmaf_score(ctx.ffmpeg, work / name / "video_2" / "chunklist.m3u8", source,
                               work, subsample=subsample, size=(WIDTH, HEIGHT))
              for name in ("naive_a", "raw_b")}
    difference = scores["naive_a"].mean - scores["raw_b"].mean
    context = {"naive_a_mean": scores["naive_a"].mean, "raw_b_mean": scores["raw_b"].mean,
               "naive_a_min": scores["naive_a"].minimum, "raw_b_min": scores["raw_b"].minimum,
               "subsample": subsample}
    return Figure(key="VMAF", title=title, unit=Unit.VMAF, summary=summarize([difference]),
                  context=context, note="one measurement; expected near 0")


def run(ctx: BenchContext) -> list[Figure]:
    """The transcode benchmarks on the 10 s (``--quick``) or 60 s mezzanine."""
    seconds = SHORT_SECONDS if ctx.quick else LONG_SECONDS
    source = mezzanine(ctx.ffmpeg, ctx.cache, seconds).resolve()
    short = mezzanine(ctx.ffmpeg, ctx.cache, SHORT_SECONDS).resolve()
    runner = Runner(ctx.ffmpeg)  # built once, as the worker does at start-up
    ctx.log(f"transcode: 4-rung ladder on {seconds} s, {ctx.rounds} rounds x 4 variants "
            f"(sandbox {'on' if runner.sandboxed else 'off'})")
    samples = interleave(ladder_variants(ctx, runner, source), ctx.rounds)
    figures = ladder_figures(samples, seconds)
    ctx.log("transcode: single 720p rendition on the 10 s source")
    figures += single_figures(ctx, runner, short)
    ctx.log("transcode: VMAF naive vs decode-once")
    figures.append(vmaf_figure(ctx, source))
    return figures
