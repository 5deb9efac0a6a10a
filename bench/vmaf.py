"""VMAF of one encoded rendition against the mezzanine, with the libvmaf in the bundled ffmpeg."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class VmafScore:
    """Pooled VMAF over the compared frames."""

    mean: float
    minimum: float


def vmaf_argv(ffmpeg: Path, distorted: Path, reference: Path, log: Path, *,
              subsample: int, size: tuple[int, int]) -> list[str]:
    """Compare ``distorted`` (scaled up to ``size``, bicubic) with ``reference``.

    Both timelines start at zero (HLS segments keep a start offset); ``subsample`` scores every
    n-th frame only, which is enough to compare two encodes made with equal settings.
    """
    width, height = size
    graph = (f"[0:v]scale={width}:{height}:flags=bicubic,setpts=PTS-STARTPTS[d];"
             "[1:v]setpts=PTS-STARTPTS[r];"
             f"[d][r]libvmaf=log_fmt=json:log_path={log.name}:n_threads=2:n_subsample={subsample}")
    return [str(ffmpeg), "-nostdin", "-hide_banner", "-loglevel", "error",
            "-i", str(distorted), "-i", str(reference), "-lavfi", graph, "-f", "null", "-"]


def parse_vmaf_log(document: dict[str, object]) -> VmafScore:
    """Read the pooled mean and minimum from libvmaf's JSON log; ``ValueError`` if absent."""
    pooled = document.get("pooled_metrics")
    vmaf = pooled.get("vmaf") if isinstance(pooled, dict) else None
    if not isinstance(vmaf, dict) or "mean" not in vmaf or "min" not in vmaf:
        raise ValueError("the libvmaf log has no pooled vmaf metrics")
    return VmafScore(mean=float(vmaf["mean"]), minimum=float(vmaf["min"]))


def vmaf_score(ffmpeg: Path, distorted: Path, reference: Path, workdir: Path, *,
               subsample: int, size: tuple[int, int]) -> VmafScore:
    """Run libvmaf and return the pooled score (the log is written in ``workdir``)."""
    log = workdir / f"vmaf-{distorted.parent.parent.name}.json"
    argv = vmaf_argv(ffmpeg, distorted, reference, log, subsample=subsample, size=size)
    subprocess.run(argv, cwd=workdir, check=True, timeout=1800)
    return parse_vmaf_log(json.loads(log.read_text(encoding="utf-8")))
