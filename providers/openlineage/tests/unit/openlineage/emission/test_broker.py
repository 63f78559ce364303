"""The broker: lineage's supervisor requests are made whole by the main thread and stop at the deadline."""

from __future__ import annotations

import threading
import time

import pytest

from airflow.providers.openlineage.emission import broker


class FakeComms:
    """A channel that records which thread made each exchange and whether exchanges overlapped."""

    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay
        self.calls: list[tuple[str, object]] = []
        self.busy = threading.Lock()
        self.overlaps = 0

    def send(self, msg):
        if not self.busy.acquire(blocking=False):
            self.overlaps += 1
            self.busy.acquire()
        try:
            time.sleep(self.delay)
            self.calls.append((threading.current_thread().name, msg))
            return f"answer-to-{msg}"
        finally:
            self.busy.release()


@pytest.fixture
def comms(monkeypatch):
    from airflow.sdk.execution_time import task_runner

    fake = FakeComms()
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", fake, raising=False)
    return fake


def _channel():
    from airflow.sdk.execution_time import task_runner

    return task_runner.SUPERVISOR_COMMS


def test_requests_are_served_by_the_calling_thread(comms):
    main = threading.current_thread().name

    def extraction():
        return [_channel().send(f"var-{i}") for i in range(5)]

    outcome = broker.run_bounded(extraction, timeout=5)
    assert outcome.finished
    assert outcome.result == [f"answer-to-var-{i}" for i in range(5)]
    assert {thread for thread, _ in comms.calls} == {main}


def test_deadline_stops_serving_and_late_requests_raise(comms):
    seen: list[object] = []
    stop = threading.Event()

    def looping_extraction():
        while not stop.is_set():
            try:
                seen.append(_channel().send("loop"))
            except broker.LineageDeadlineExceeded as err:
                seen.append(err)
                return

    started = time.monotonic()
    outcome = broker.run_bounded(looping_extraction, timeout=0.3)
    elapsed = time.monotonic() - started
    assert not outcome.finished
    assert elapsed < 1.0
    served_before = len(comms.calls)
    # The task's own calls from the main thread go straight through, and never see lineage answers.
    assert _channel().send("task-own") == "answer-to-task-own"
    time.sleep(0.2)
    stop.set()
    assert isinstance(seen[-1], broker.LineageDeadlineExceeded)
    assert len(comms.calls) == served_before + 1
    assert comms.overlaps == 0


def test_other_threads_of_the_task_are_not_routed(comms):
    answers = []
    thread = threading.Thread(target=lambda: answers.append(_channel().send("user-thread")), name="user")
    broker.install_routing_comms()
    thread.start()
    thread.join(5)
    assert answers == ["answer-to-user-thread"]
    assert comms.calls == [("user", "user-thread")]


def test_errors_and_results_are_handed_back(comms):
    def failing():
        raise ValueError("boom")

    outcome = broker.run_bounded(failing, timeout=5)
    assert outcome.finished
    assert isinstance(outcome.error, ValueError)
