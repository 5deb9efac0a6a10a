"""Verify a ``vmaf`` output: libvmaf's JSON log, read back strictly.

The log must be a JSON object (at most ``MAX_LOG_BYTES``: a long source needs ``n_subsample``)
with a ``frames`` list of about the planned number of scored frames (framesync may drop or
repeat one at either end) and a ``pooled_metrics.vmaf`` whose min, max, mean and harmonic
mean are numbers from 0 to 100; nothing else may be in the output's folder.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from strongroom.media.errors import VerificationError
from strongroom.media.output_report import OutputReport, list_files, read_small_text
from strongroom.media.plan_types import PlannedOutput
from strongroom.media.runner import Runner

MAX_LOG_BYTES = 64 << 20
FRAME_SLACK = 2
_POOLED = ("min", "max", "mean", "harmonic_mean")


def verify_vmaf(_runner: Runner, planned: PlannedOutput, job_dir: Path) -> OutputReport:
    """Check the vmaf log ``planned`` describes and report it (its score is in the file)."""
    out_dir = job_dir / planned.directory
    target = job_dir / planned.main_file
    try:
        log = json.loads(read_small_text(target, MAX_LOG_BYTES))
    except ValueError:
        raise VerificationError(detail="the vmaf log is not JSON") from None
    pooled = _pooled(log)
    frames = log.get("frames")
    want = planned.vmaf_frames or 0
    if not isinstance(frames, list) or abs(len(frames) - want) > FRAME_SLACK + want // 20:
        count = len(frames) if isinstance(frames, list) else None
        raise VerificationError(detail=f"the vmaf log scores {count} frames, planned {want}")
    files = list_files(out_dir)
    if [item.path for item in files] != [target.name]:
        raise VerificationError(detail="the vmaf output holds other files")
    return OutputReport(
        index=planned.index,
        kind=planned.kind,
        main_file=target.name,
        files=files,
        duration=planned.expected_duration,
        bitrate=0,
        width=0,
        height=0,
        renditions=({"vmaf": pooled, "frames": len(frames)},),
    )


def _pooled(log: Any) -> dict[str, float]:
    metrics = log.get("pooled_metrics") if isinstance(log, dict) else None
    vmaf = metrics.get("vmaf") if isinstance(metrics, dict) else None
    if not isinstance(vmaf, dict):
        raise VerificationError(detail="the vmaf log has no pooled vmaf score")
    pooled = {}
    for key in _POOLED:
        value = vmaf.get(key)
        plain = isinstance(value, int | float) and not isinstance(value, bool)
        number = float(value) if plain and value is not None else None
        if number is None or not math.isfinite(number) or not 0 <= number <= 100:
            raise VerificationError(detail=f"the vmaf log's pooled {key} is not a score")
        pooled[key] = round(number, 6)
    return pooled
