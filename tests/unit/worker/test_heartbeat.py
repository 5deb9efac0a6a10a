"""Heartbeat decisions and the thread that sends them."""

from __future__ import annotations

import threading

import pytest

from strongroom.worker.client import AuthRefused, EdgeUnavailable, LeaseLost
from strongroom.worker.heartbeat import BeatReply, Heartbeat, Progress, Stage, StopReason


class Recorder:
    """A send function that records beats and answers from a script."""

    def __init__(self, *answers: BeatReply | Exception) -> None:
        self.answers = list(answers)
        self.beats: list[tuple[Stage, int]] = []
        self.sent = threading.Event()

    def __call__(self, stage: Stage, percent: int) -> BeatReply:
        self.beats.append((stage, percent))
        self.sent.set()
        answer = self.answers.pop(0) if self.answers else BeatReply(cancel=False)
        if isinstance(answer, Exception):
            raise answer
        return answer


def make(recorder: Recorder, progress: Progress | None = None) -> Heartbeat:
    return Heartbeat(recorder, progress or Progress(), 0.01, threading.Event())


def test_it_sends_the_latest_progress() -> None:
    progress = Progress()
    progress.update(Stage.ENCODING, 42.9)
    recorder = Recorder()
    make(recorder, progress).beat_once()
    assert recorder.beats == [(Stage.ENCODING, 42)]


@pytest.mark.parametrize(("given", "kept"), [(-5, 0), (150, 100), (99.99, 99)])
def test_progress_is_clamped(given: float, kept: int) -> None:
    progress = Progress()
    progress.update(Stage.SAVING, given)
    assert progress.snapshot() == (Stage.SAVING, kept)


def test_a_normal_answer_keeps_the_job_running() -> None:
    heartbeat = make(Recorder(BeatReply(cancel=False)))
    heartbeat.beat_once()
    assert not heartbeat.cancel.is_set()
    assert heartbeat.stop_reason is None


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (BeatReply(cancel=True), StopReason.CANCELLED),
        (LeaseLost("gone"), StopReason.LEASE_LOST),
        (AuthRefused("revoked"), StopReason.REVOKED),
    ],
)
def test_it_stops_the_job_when_the_edge_says_so(
    answer: BeatReply | Exception, reason: StopReason
) -> None:
    heartbeat = make(Recorder(answer))
    heartbeat.beat_once()
    assert heartbeat.cancel.is_set()
    assert heartbeat.stop_reason is reason


def test_the_first_stop_reason_wins() -> None:
    heartbeat = make(Recorder(BeatReply(cancel=True), LeaseLost("gone")))
    heartbeat.beat_once()
    heartbeat.beat_once()
    assert heartbeat.stop_reason is StopReason.CANCELLED


def test_an_unreachable_edge_does_not_stop_the_job() -> None:
    heartbeat = make(Recorder(EdgeUnavailable("down")))
    heartbeat.beat_once()
    assert not heartbeat.cancel.is_set()


def test_the_thread_beats_until_stopped() -> None:
    recorder = Recorder()
    with make(recorder):
        assert recorder.sent.wait(2)
    count = len(recorder.beats)
    assert count >= 1
    threading.Event().wait(0.05)
    assert len(recorder.beats) == count


def test_the_thread_stops_beating_after_a_cancel() -> None:
    recorder = Recorder(BeatReply(cancel=True))
    heartbeat = make(recorder)
    with heartbeat:
        assert heartbeat.cancel.wait(2)
        threading.Event().wait(0.05)
    assert len(recorder.beats) == 1
