"""``video_codec_parameters``: the encoder options a client may tune, and nothing else. Pure.

Qencode passes these through to its encoders. We never pass a client's string to ffmpeg: each
key must be in ``ALLOWED`` for the rendition's encoder, each value is checked against a closed
set or a numeric range and re-written from the parsed value, and the result is emitted as one
ffmpeg option per key (x264) or one ``key=value`` item of ``-x265-params`` / ``-svtav1-params``,
whose separators (``:`` and ``=``) a checked value can't contain. Free-form keys Qencode
documents (``flags``, ``flags2``, ``partitions``, ``cmp``, ``sws_flags``) and the rate keys that
would fight our own rate control (``max_rate``, ``min_rate``, ``bufsize``, ``qdiff``) are refused
by name, like any unknown key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
)
X264_TUNES = ("film", "animation", "grain", "stillimage", "fastdecode", "zerolatency")
X265_TUNES = ("psnr", "ssim", "grain", "zerolatency", "fastdecode", "animation")
# H.264/HEVC levels as Qencode writes them (31 = level 3.1; 13 = 1.3 also exists).
LEVELS = (*(f"{major}{minor}" for major in range(1, 7) for minor in range(3)), "13")
ME_METHODS = ("dia", "hex", "umh", "esa", "tesa")
MAX_PARAMS = 16
_DECIMAL = re.compile(r"^-?\d{1,9}(\.\d{1,9})?$")  # no exponents, nan or inf in text


@dataclass(frozen=True)
class Param:
    """How one key is checked (``choices``, or an inclusive ``low``..``high`` range, ``real``
    for decimals) and emitted: as ffmpeg option ``option`` or as ``param`` inside the encoder's
    ``-x265-params``/``-svtav1-params`` list."""

    choices: tuple[str, ...] = ()
    low: float = 0
    high: float = 0
    real: bool = False
    option: str | None = None
    param: str | None = None


def _whole(low: int, high: int, option: str | None = None, param: str | None = None) -> Param:
    return Param(low=low, high=high, option=option, param=param)


_X264: dict[str, Param] = {
    "preset": Param(X264_PRESETS, option="preset"),
    "tune": Param(X264_TUNES, option="tune"),
    "level": Param(LEVELS, option="level"),
    "bf": _whole(0, 16, option="bf"),
    "refs": _whole(1, 16, option="refs"),
    "coder": _whole(0, 1, option="coder"),
    "subq": _whole(0, 11, option="subq"),
    "trellis": _whole(0, 2, option="trellis"),
    "me_method": Param(ME_METHODS, option="motion-est"),
    "me_range": _whole(4, 64, option="me_range"),
    "rc_lookahead": _whole(0, 250, option="rc-lookahead"),
    "qmin": _whole(0, 51, option="qmin"),
    "qmax": _whole(0, 51, option="qmax"),
    "qcomp": Param(low=0, high=1, real=True, option="qcomp"),
    "i_qfactor": Param(low=0, high=10, real=True, option="i_qfactor"),
    "b_strategy": _whole(0, 2, option="b_strategy"),
    "directpred": _whole(0, 3, option="direct-pred"),
    "keyint_min": _whole(1, 1200, option="keyint_min"),
}
_X265: dict[str, Param] = {
    "preset": Param(X264_PRESETS, option="preset"),
    "tune": Param(X265_TUNES, option="tune"),
    "level": Param(LEVELS, param="level-idc"),
    "bf": _whole(0, 16, param="bframes"),
    "refs": _whole(1, 16, param="ref"),
    "subq": _whole(0, 7, param="subme"),
    "me_method": Param(("dia", "hex", "umh", "star", "full"), param="me"),
    "me_range": _whole(4, 64, param="merange"),
    "rc_lookahead": _whole(0, 250, param="rc-lookahead"),
    "qcomp": Param(low=0.5, high=1, real=True, param="qcomp"),
    "keyint_min": _whole(1, 1200, param="min-keyint"),
}
_SVTAV1: dict[str, Param] = {
    "preset": _whole(0, 13, option="preset"),
    "tune": _whole(0, 2, param="tune"),
    "aq_mode": _whole(0, 2, param="aq-mode"),
    "film_grain": _whole(0, 50, param="film-grain"),
    "fast_decode": _whole(0, 2, param="fast-decode"),
    "enable_dlf": _whole(0, 2, param="enable-dlf"),
    "enable_restoration": _whole(0, 1, param="enable-restoration"),
    "hierarchical_levels": _whole(2, 5, param="hierarchical-levels"),
}
ALLOWED: dict[str, dict[str, Param]] = {"libx264": _X264, "libx265": _X265, "libsvtav1": _SVTAV1}
# Keys that would undo what segmented outputs need (aligned, closed GOPs at segment starts).
SEGMENT_CONFLICTS = frozenset({"keyint_min"})
PARAMS_OPTION = {"libx265": "-x265-params", "libsvtav1": "-svtav1-params"}


def check_param(codec: str, key: str, value: object) -> str:
    """Return ``value`` of ``key`` for ``codec`` as the text we will emit.

    Raises ``ValueError`` with a client-safe message (without the value) otherwise: naming the
    key when it is not allowed, else saying what the value must be.
    """
    allowed = ALLOWED.get(codec)
    if allowed is None:
        raise ValueError(f"do not apply to {codec}")
    spec = allowed.get(key)
    if spec is None:
        raise ValueError(f"{key[:64]} is not supported for {codec} (allowed: {', '.join(allowed)})")
    if spec.choices:
        text = value.strip().lower() if isinstance(value, str) else str(value)
        if isinstance(value, bool) or text not in spec.choices:
            raise ValueError(f"must be one of: {', '.join(spec.choices)}")
        return text
    return _number(spec, value)


def _number(spec: Param, value: object) -> str:
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and _DECIMAL.match(value.strip()):
        number = float(value.strip())
    limits = f"{spec.low:g}\u2013{spec.high:g}"
    if number is None or not math.isfinite(number) or not spec.low <= number <= spec.high:
        raise ValueError(f"must be a number {limits}")
    if not spec.real:
        if not number.is_integer():
            raise ValueError(f"must be a whole number {limits}")
        return str(int(number))
    return f"{number:g}"


def check_params(codec: str, params: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    """Check every item of ``params`` for ``codec``; return them sorted by key.

    Raises ``ValueError`` whose message names the offending key.
    """
    if len(params) > MAX_PARAMS:
        raise ValueError(f"must have at most {MAX_PARAMS} entries")
    checked = []
    for key, value in params.items():
        try:
            checked.append((key, check_param(codec, key, value)))
        except ValueError as exc:
            known = key in ALLOWED.get(codec, {})
            raise ValueError(f"{key} {exc}" if known else str(exc)) from None
    return tuple(sorted(checked))


def encoder_args(
    codec: str, stream: str, params: Sequence[tuple[str, str]], extra: Sequence[str] = ()
) -> list[str]:
    """ffmpeg options for checked ``params`` of video stream ``stream`` (e.g. ``v:0``).

    ``extra`` are our own ``key=value`` items for the encoder's parameter list (x265/SVT-AV1),
    placed before the client's so a client key can't be repeated by ours.
    """
    args: list[str] = []
    items = list(extra)
    for key, value in params:
        spec = ALLOWED[codec][key]
        if spec.option is not None:
            args += [f"-{spec.option}:{stream}", value]
        elif spec.param is not None:
            items.append(f"{spec.param}={value}")
    if items and codec in PARAMS_OPTION:
        args += [f"{PARAMS_OPTION[codec]}:{stream}", ":".join(items)]
    return args
