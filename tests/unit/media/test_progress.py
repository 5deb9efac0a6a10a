"""-progress blocks -> percent."""

from __future__ import annotations

import pytest

from strongroom.media.progress import ProgressTracker, parse_out_time

BLOCK = "frame=30\nout_time_us={us}\nout_time=00:00:01.000000\nprogress={state}\n"


def test_it_reports_a_percentage_per_block() -> None:
    tracker = ProgressTracker(10.0)
    assert tracker.feed(BLOCK.format(us=2_500_000, state="continue")) == [25.0]
    assert tracker.feed(BLOCK.format(us=5_000_000, state="continue")) == [50.0]


def test_it_handles_blocks_split_across_reads() -> None:
    tracker = ProgressTracker(4.0)
    text = BLOCK.format(us=1_000_000, state="continue")
    assert tracker.feed(text[:17]) == []
    assert tracker.feed(text[17:]) == [25.0]


def test_it_reaches_100_only_at_the_end() -> None:
    tracker = ProgressTracker(1.0)
    assert tracker.feed(BLOCK.format(us=3_000_000, state="continue")) == [99.9]
    assert not tracker.finished
    assert tracker.feed(BLOCK.format(us=3_000_000, state="end")) == [100.0]
    assert tracker.finished


def test_it_never_goes_backwards_and_ignores_na() -> None:
    tracker = ProgressTracker(10.0)
    tracker.feed(BLOCK.format(us=5_000_000, state="continue"))
    assert tracker.feed(BLOCK.format(us=1_000_000, state="continue")) == [50.0]
    assert tracker.feed("out_time_us=N/A\nout_time=N/A\nprogress=continue\n") == [50.0]


def test_it_survives_garbage_lines_and_unknown_duration() -> None:
    tracker = ProgressTracker(0.0)
    assert tracker.feed("\x00junk\n=\nout_time_us=99\nprogress=continue\n") == [0.0]


@pytest.mark.parametrize("block, seconds", [
    ({"out_time_us": "1500000"}, 1.5),
    ({"out_time_ms": "2000000"}, 2.0),           # old builds: microseconds named ms
    ({"out_time": "01:02:03.500000"}, 3723.5),
    ({"out_time_us": "-7"}, 0.0),
    ({"out_time_us": "N/A", "out_time": "N/A"}, None),
    ({"out_time": "12"}, None),
    ({}, None),
])
def test_it_reads_the_output_time(block: dict[str, str], seconds: float | None) -> None:
    assert parse_out_time(block) == seconds
