"""Real vmaf outputs: an mp4/webm of the same job measured against the source with libvmaf."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from strongroom.media.errors import VerificationError
from strongroom.media.planner import plan_job
from strongroom.media.qencode import parse_start_encode2_query
from strongroom.media.runner import Runner
from strongroom.media.verify import OutputReport, verify_output

pytestmark = pytest.mark.integration


def plan_and_run(runner: Runner, job_dir: Path, *formats: dict[str, Any]) -> Any:
    spec = parse_start_encode2_query(json.dumps(
        {"query": {"source": "tus:" + "c" * 32, "format": list(formats)}}))
    plan = plan_job(spec, runner.probe(job_dir / "source"), threads=2)
    for command in plan.commands:
        runner.run(command, cwd=job_dir)
    return plan


def encode(runner: Runner, job_dir: Path, *formats: dict[str, Any]) -> list[OutputReport]:
    plan = plan_and_run(runner, job_dir, *formats)
    return [verify_output(runner, output, job_dir) for output in plan.outputs]


def score(job_dir: Path, index: int) -> dict[str, Any]:
    log = json.loads((job_dir / f"out{index}" / "vmaf.json").read_text())
    return {"mean": log["pooled_metrics"]["vmaf"]["mean"], "frames": len(log["frames"])}


def test_it_scores_the_first_mp4_and_a_worse_encode_scores_lower(runner: Runner,
                                                                 job_dir: Path) -> None:
    reports = encode(runner, job_dir,
                     {"output": "mp4", "quality": 18},
                     {"output": "webm", "quality": 60, "resolution": 120},
                     {"output": "vmaf"},
                     {"output": "vmaf", "distorted": 1, "n_subsample": 2,
                      "vmaf_model": "vmaf_v0.6.1neg"})
    good, bad = score(job_dir, 2), score(job_dir, 3)
    assert good["frames"] == 60 and bad["frames"] == 30
    assert 0 <= bad["mean"] < good["mean"] <= 100
    assert reports[2].main_file == "vmaf.json"
    assert reports[2].renditions[0]["vmaf"]["mean"] == pytest.approx(good["mean"], abs=1e-5)


def test_it_measures_a_clip_against_the_same_window_of_the_source(runner: Runner,
                                                                  job_dir: Path) -> None:
    encode(runner, job_dir,
           {"output": "mp4", "quality": 18, "start_time": 0.5, "duration": 1},
           {"output": "mp4", "quality": 18},
           {"output": "vmaf", "distorted": 0},
           {"output": "vmaf", "distorted": 1, "duration": 0.5})
    clipped, shortened = score(job_dir, 2), score(job_dir, 3)
    assert clipped["frames"] == 30 and shortened["frames"] == 15
    # Misaligned windows would score far lower than a near-lossless encode does.
    assert clipped["mean"] > 80 and shortened["mean"] > 80


def test_it_follows_the_measured_outputs_frame_rate(runner: Runner, job_dir: Path) -> None:
    encode(runner, job_dir,
           {"output": "mp4", "quality": 18, "framerate_limit": "15", "deinterlace": 1},
           {"output": "vmaf"})
    found = score(job_dir, 1)
    assert found["frames"] == 30 and found["mean"] > 80


def test_verification_refuses_a_tampered_log(runner: Runner, job_dir: Path) -> None:
    plan = plan_and_run(runner, job_dir, {"output": "mp4"}, {"output": "vmaf"})
    log_path = job_dir / "out1" / "vmaf.json"
    log = json.loads(log_path.read_text())
    log["pooled_metrics"]["vmaf"]["mean"] = 250
    log_path.write_text(json.dumps(log))
    with pytest.raises(VerificationError):
        verify_output(runner, plan.outputs[1], job_dir)
    log["pooled_metrics"]["vmaf"]["mean"] = 90
    log["frames"] = log["frames"][:10]
    log_path.write_text(json.dumps(log))
    with pytest.raises(VerificationError):
        verify_output(runner, plan.outputs[1], job_dir)
    log_path.write_text("not json")
    with pytest.raises(VerificationError):
        verify_output(runner, plan.outputs[1], job_dir)
