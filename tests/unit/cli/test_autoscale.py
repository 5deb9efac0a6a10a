"""The local autoscaler's decision (pure)."""

from __future__ import annotations

import pytest

from strongroom.cli.autoscale import Observation, ScalePolicy, decide

POLICY = ScalePolicy(minimum=1, maximum=3, idle_seconds=60)


def seen(
    ready: int = 0,
    running: int = 1,
    busy: int = 0,
    load: float = 0.5,
    cores: int = 4,
    idle_for: float = 0.0,
) -> Observation:
    return Observation(
        ready=ready, running=running, busy=busy, load=load, cores=cores, idle_for=idle_for
    )


def test_it_starts_workers_up_to_the_minimum() -> None:
    assert decide(POLICY, seen(running=0)) == +1


def test_it_grows_when_work_waits_and_every_worker_is_busy() -> None:
    assert decide(POLICY, seen(ready=2, running=1, busy=1)) == +1


def test_it_does_not_grow_while_a_worker_is_free() -> None:
    assert decide(POLICY, seen(ready=2, running=2, busy=1)) == 0


def test_it_does_not_grow_past_the_maximum() -> None:
    assert decide(POLICY, seen(ready=5, running=3, busy=3)) == 0


def test_it_does_not_grow_when_the_cores_are_saturated() -> None:
    assert decide(POLICY, seen(ready=5, running=2, busy=2, load=4.2, cores=4)) == 0


def test_it_shrinks_after_the_queue_stayed_empty_long_enough() -> None:
    assert decide(POLICY, seen(running=3, idle_for=61)) == -1
    assert decide(POLICY, seen(running=3, idle_for=10)) == 0


def test_it_never_shrinks_below_the_minimum_or_while_busy() -> None:
    assert decide(POLICY, seen(running=1, idle_for=600)) == 0
    assert decide(POLICY, seen(running=3, busy=1, idle_for=600)) == 0


@pytest.mark.parametrize(
    ("text", "expected"), [("2", (2, 2)), ("1:4", (1, 4)), ("0:2", (0, 2)), ("auto", (1, 8))]
)
def test_the_workers_option(text: str, expected: tuple[int, int]) -> None:
    policy = ScalePolicy.parse(text, cores=8)
    assert (policy.minimum, policy.maximum) == expected


@pytest.mark.parametrize("text", ["3:1", "-1", "65", "many", "1:x"])
def test_the_workers_option_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError):
        ScalePolicy.parse(text, cores=8)


def test_an_operator_may_let_it_oversubscribe_the_cores() -> None:
    busy_box = seen(ready=3, running=1, busy=1, load=3.5, cores=2)
    assert decide(POLICY, busy_box) == 0
    relaxed = ScalePolicy(minimum=1, maximum=3, max_load_per_core=2.0)
    assert decide(relaxed, busy_box) == +1
