"""The Qencode reader of a ``vmaf`` output (see ``vmaf_settings`` for what it measures)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from strongroom.media import jobspec as js
from strongroom.media.jobspec import OutputKind, OutputSpec
from strongroom.media.qencode_values import (
    QueryError,
    field_error,
    read_bool,
    read_choice,
    read_int,
)
from strongroom.media.vmaf_settings import N_SUBSAMPLE, VMAF_MODELS, reference_problem


def read_vmaf(
    _kind: OutputKind, item: Mapping[str, Any], path: str, _warnings: list[str]
) -> dict[str, Any]:
    """vmaf: ``distorted`` (an output index), ``vmaf_model``, ``n_subsample``, ``shortest``."""
    settings: dict[str, Any] = {}
    if "distorted" in item:
        settings["distorted"] = _read_distorted(item["distorted"], f"{path}.distorted")
    if "vmaf_model" in item:
        settings["model"] = read_choice(item["vmaf_model"], f"{path}.vmaf_model", VMAF_MODELS)
    if "n_subsample" in item:
        settings["n_subsample"] = read_int(item["n_subsample"], f"{path}.n_subsample", *N_SUBSAMPLE)
    if "shortest" in item:
        settings["shortest"] = read_bool(item["shortest"], f"{path}.shortest")
    return {"vmaf": settings}


def _read_distorted(value: Any, path: str) -> int:
    if isinstance(value, str) and ("://" in value or value.startswith("tus:")):
        raise field_error(
            path,
            "URLs are not supported yet: give the index of an mp4 or webm output of this job",
        )
    return read_int(value, path, 0, js.MAX_OUTPUTS - 1)


def check_vmaf_references(outputs: Sequence[OutputSpec]) -> None:
    """Refuse a vmaf output whose ``distorted`` output can't be measured (code 14)."""
    for output in outputs:
        problem = output.vmaf and reference_problem(outputs, output.vmaf)
        if problem:
            raise field_error(f"format[{output.index}].distorted", problem)


__all__ = ["QueryError", "check_vmaf_references", "read_vmaf"]
