"""What a ``vmaf`` output measures, and the rules that keep the measurement meaningful. Pure.

Qencode's ``distorted`` is the URL of a video made elsewhere. We measure our own encodes
instead: ``distorted`` is the index of an mp4 or webm output of the same job (``format[i]``),
and without it the job's first mp4/webm output is measured. The reference is the source, cut
to the measured output's clip window; ``duration`` shortens the analysis. The measured output
must show the source's picture as it is (no ``rotate``, no ``resize_mode`` crop), or the
comparison is meaningless. ``vmaf_model`` picks one of libvmaf's built-in models (default: the
4K model for a source at least 3840x2160, else ``vmaf_v0.6.1``), ``n_subsample`` measures
every n-th frame and ``shortest`` stops at the end of the shorter video.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from strongroom.media.output_kinds import OutputKind

VmafModel = Literal["vmaf_v0.6.1", "vmaf_v0.6.1neg", "vmaf_4k_v0.6.1", "vmaf_4k_v0.6.1neg"]
VMAF_MODELS: tuple[str, ...] = VmafModel.__args__  # type: ignore[attr-defined]  # Literal's values
N_SUBSAMPLE = (1, 100)
MEASURED_KINDS = (OutputKind.MP4, OutputKind.WEBM)
# A source at least this large (either orientation) is measured with the 4K model by default.
UHD = (3840, 2160)


class VmafSettings(BaseModel):
    """A ``vmaf`` output's settings; ``distorted`` None means the first mp4/webm output."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    distorted: int | None = Field(default=None, ge=0, lt=10)
    model: VmafModel | None = None
    n_subsample: int = Field(default=1, ge=N_SUBSAMPLE[0], le=N_SUBSAMPLE[1])
    shortest: bool = False


def default_model(width: int, height: int) -> str:
    """The model for a source of ``width`` x ``height`` when the client names none."""
    large = max(width, height) >= UHD[0] and min(width, height) >= UHD[1]
    return "vmaf_4k_v0.6.1" if large else "vmaf_v0.6.1"


def measured_index(outputs: Sequence[Any], settings: VmafSettings) -> int | None:
    """The index of the output ``settings`` measures (None: the job has no mp4/webm output)."""
    if settings.distorted is not None:
        return settings.distorted
    return next((o.index for o in outputs if o.kind in MEASURED_KINDS), None)


def reference_problem(outputs: Sequence[Any], settings: VmafSettings) -> str | None:
    """Why the output ``settings`` points at can't be measured, or None.

    ``outputs`` are the job's ``OutputSpec`` entries (typed loosely: jobspec imports this).
    """
    index = measured_index(outputs, settings)
    if index is None:
        return "needs an mp4 or webm output in the same job to measure"
    target = next((o for o in outputs if o.index == index), None)
    if target is None or target.kind not in MEASURED_KINDS:
        return f"must be the index of an mp4 or webm output of this job (format[{index}] is not)"
    rendition = target.renditions[0]
    if rendition.rotate or rendition.resize_mode != "scale":
        return f"format[{index}] turns or crops the picture, so it can't be compared"
    return None
