"""The drain deadline: after a stop request, a job runs at most `drain_seconds` more."""

from __future__ import annotations

import threading
import time

from strongroom.worker.failures import HANDBACK
from strongroom.worker.job import DrainDeadline


def test_it_cancels_the_job_once_the_drain_period_after_stop_is_over() -> None:
    stop, cancel = threading.Event(), threading.Event()
    with DrainDeadline(stop, 0.2, cancel) as drain:
        stop.set()
        assert cancel.wait(3.0)
        assert drain.expired


def test_a_job_that_ends_within_the_drain_period_is_not_cancelled() -> None:
    stop, cancel = threading.Event(), threading.Event()
    with DrainDeadline(stop, 5.0, cancel) as drain:
        stop.set()
        time.sleep(0.6)
    assert not cancel.is_set() and not drain.expired


def test_without_a_stop_request_nothing_happens() -> None:
    stop, cancel = threading.Event(), threading.Event()
    with DrainDeadline(stop, 0.0, cancel) as drain:
        time.sleep(0.6)
    assert not cancel.is_set() and not drain.expired


def test_the_hand_back_report_asks_for_a_requeue_without_an_attempt() -> None:
    assert HANDBACK.to_dict() == {"reason": HANDBACK.reason, "retryable": True, "handback": True}
