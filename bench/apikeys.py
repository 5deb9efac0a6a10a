"""T10: CPU per API-key check (``parse_api_key`` + ``api_key_digest``) vs a bare HMAC.

The bare HMAC is the floor: HMAC-SHA256 of the same secret under the same pepper, nothing
else. Measured as process CPU time (not wall) over many calls per repetition.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

from bench.abrun import interleave
from bench.context import BenchContext
from bench.model import Comparison, Figure, Target, Unit
from bench.stats import paired_ratios, summarize
from strongroom.crypto.apikeys import api_key_digest, generate_api_key, parse_api_key


def cpu_per_call(action: Callable[[], object], calls: int) -> float:
    """Process CPU microseconds per call of ``action``, over ``calls`` calls."""
    started = time.process_time()
    for _ in range(calls):
        action()
    return (time.process_time() - started) * 1e6 / calls


def service_check(pepper: bytes, key: str) -> Callable[[], object]:
    """What the edge does per request: parse (shape + checksum), then the stored digest."""
    def check() -> object:
        parsed = parse_api_key(key)
        assert parsed is not None
        return api_key_digest(pepper, parsed.secret)
    return check


def bare_hmac(pepper: bytes, secret: bytes) -> Callable[[], object]:
    """The floor: one HMAC-SHA256, hex-encoded."""
    return lambda: hmac.new(pepper, secret, hashlib.sha256).hexdigest()


def run(ctx: BenchContext) -> list[Figure]:
    """T10 figures: the ratio to the bare HMAC, judged on the absolute microseconds."""
    pepper, key = secrets.token_bytes(32), generate_api_key()
    parsed = parse_api_key(key)
    assert parsed is not None
    calls = 50_000 if ctx.quick else 200_000
    ctx.log(f"apikeys: {ctx.rounds + 2} rounds x {calls} calls")
    check, floor = service_check(pepper, key), bare_hmac(pepper, parsed.secret.encode())
    samples = interleave({"service": lambda: cpu_per_call(check, calls),
                          "hmac": lambda: cpu_per_call(floor, calls)},
                         ctx.rounds + 2, warmup=True)
    service, baseline = summarize(samples["service"]), summarize(samples["hmac"])
    return [
        Figure(key="T10-ratio", title="API-key check CPU, service / bare HMAC",
               unit=Unit.RATIO, summary=summarize(paired_ratios(samples["service"],
                                                                samples["hmac"])),
               context={"hmac_us": baseline.median}),
        Figure(key="T10", title="API-key check CPU per call (absolute)",
               unit=Unit.MICROSECONDS, summary=service,
               target=Target("T10", Comparison.AT_MOST, 5.0),
               note="T10 is an absolute bound; the ratio above is the portable figure"),
    ]
