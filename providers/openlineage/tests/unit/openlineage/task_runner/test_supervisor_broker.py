"""The broker: lineage's supervisor requests, from any of its threads, are made whole by the main thread."""

from __future__ import annotations

import threading
import time

import pytest
from hang import hang

from airflow.providers.openlineage.emission.deadline import FixedDeadline
from airflow.providers.openlineage.task_runner import supervisor_broker as broker


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

    outcome = broker.run_bounded(extraction, FixedDeadline(5))
    assert outcome.finished
    assert outcome.result == [f"answer-to-var-{i}" for i in range(5)]
    assert {thread for thread, _ in comms.calls} == {main}


def test_deadline_stops_serving_and_late_requests_raise(comms):
    seen: list[object] = []
    refused = threading.Event()

    def looping_extraction():
        while True:
            try:
                seen.append(_channel().send("loop"))
            except broker.LineageDeadlineExceeded as err:
                seen.append(err)
                refused.set()
                return

    started = time.monotonic()
    outcome = broker.run_bounded(looping_extraction, FixedDeadline(0.3))
    elapsed = time.monotonic() - started
    assert not outcome.finished
    assert elapsed < 1.0
    served_before = len(comms.calls)
    # The task's own calls from the main thread go straight through, and never see lineage answers.
    assert _channel().send("task-own") == "answer-to-task-own"
    assert refused.wait(5)  # the loop's next request, after the deadline, is refused
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

    outcome = broker.run_bounded(failing, FixedDeadline(5))
    assert outcome.finished
    assert isinstance(outcome.error, ValueError)


def test_threads_started_by_extraction_go_through_the_broker_and_stop_at_the_deadline(comms):
    """An extractor's own thread looping on the supervisor: served by the main thread, then refused."""
    main = threading.current_thread().name
    refused = threading.Event()
    answers: list[object] = []

    def spawns_a_looping_thread():
        def loop():
            while True:
                try:
                    answers.append(_channel().send("var"))
                except broker.LineageDeadlineExceeded:
                    refused.set()
                    return

        threading.Thread(target=loop, name="extractor-own", daemon=True).start()
        hang(3600)

    outcome = broker.run_bounded(spawns_a_looping_thread, FixedDeadline(0.3))
    assert not outcome.finished
    assert answers  # it was served while the deadline lasted...
    assert {thread for thread, _ in comms.calls} == {main}  # ...by the main thread only
    assert refused.wait(2)  # ...and refused after it
    served = len(comms.calls)
    assert _channel().send("task-own") == "answer-to-task-own"
    assert len(comms.calls) == served + 1  # the loop ended at its refusal: only the task's call
    assert comms.overlaps == 0


def test_the_tasks_own_thread_is_served_during_extraction_and_direct_after(comms):
    """A thread the task started before is never refused: the broker performs its request meanwhile."""
    go = threading.Event()
    extraction_done = threading.Event()
    served_during = threading.Event()
    answers: list[object] = []

    def task_thread():
        go.wait(5)
        answers.append(_channel().send("during"))
        served_during.set()
        extraction_done.wait(5)
        answers.append(_channel().send("after"))

    worker = threading.Thread(target=task_thread, name="task-own-thread")
    broker.install_routing_comms()
    worker.start()

    def extraction():
        go.set()
        served_during.wait(5)  # the main thread serves the task's request while this one waits

    assert broker.run_bounded(extraction, FixedDeadline(5)).finished
    extraction_done.set()
    worker.join(5)
    assert answers == ["answer-to-during", "answer-to-after"]
    main = threading.current_thread().name
    assert comms.calls == [(main, "during"), ("task-own-thread", "after")]


def test_a_refused_request_is_one_info_line_not_a_missing_variable(comms, caplog):
    past_deadline = threading.Event()
    done = threading.Event()

    def late():
        past_deadline.wait(5)
        for _ in range(3):
            try:
                _channel().send(GetVariable())
            except broker.LineageDeadlineExceeded:
                pass
        done.set()

    with caplog.at_level("INFO", logger=broker.__name__):
        outcome = broker.run_bounded(late, FixedDeadline(0.1))
        past_deadline.set()
        assert done.wait(5)
    assert not outcome.finished
    lines = [r.getMessage() for r in caplog.records if r.name == broker.__name__]
    assert len(lines) == 1
    assert "was refused, not sent" in lines[0]
    assert "GetVariable" in lines[0]
    # Not an Exception: the Task SDK's `except Exception` around its backends cannot turn it into
    # VARIABLE_NOT_FOUND, and an extractor's own `except Exception` cannot swallow it.
    assert not issubclass(broker.LineageDeadlineExceeded, Exception)


class GetVariable:
    pass


class SucceedTask:
    pass


def test_an_interrupt_in_the_main_thread_stops_the_session(comms, monkeypatch):
    """Only channel errors are handed to the lineage thread; an interrupt ends serving and propagates."""

    def interrupting_send(msg):
        raise KeyboardInterrupt

    monkeypatch.setattr(comms, "send", interrupting_send)
    refused = threading.Event()
    first: list[BaseException] = []

    def extraction():
        try:
            _channel().send("first")
        except broker.LineageDeadlineExceeded as err:
            first.append(err)
        try:
            _channel().send("second")
        except broker.LineageDeadlineExceeded:
            refused.set()

    with pytest.raises(KeyboardInterrupt):
        broker.run_bounded(extraction, FixedDeadline(5))
    assert refused.wait(2)
    assert len(first) == 1  # the interrupted exchange is an error to lineage, never a silent None
    assert _channel()._active is None


def test_the_state_report_is_noted(comms):
    broker.install_routing_comms()
    assert broker.state_reported_at() is None
    before = time.monotonic()
    _channel().send(SucceedTask())
    assert before <= broker.state_reported_at() <= time.monotonic()


def test_a_thread_ended_by_a_refusal_prints_no_traceback(comms, monkeypatch):
    """Python's own hook stays quiet only for SystemExit itself; ours keeps refusals quiet too."""
    reported: list[type] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: reported.append(args.exc_type))
    broker.install_routing_comms()

    past_deadline = threading.Event()
    late_threads: list[threading.Thread] = []

    def late():
        past_deadline.wait(5)
        _channel().send("after the deadline")  # uncaught: ends this thread

    def failing():
        raise ValueError("an ordinary error still reaches the hook")

    def extraction():
        thread = threading.Thread(target=late)
        late_threads.append(thread)
        thread.start()
        hang(3600)

    assert not broker.run_bounded(extraction, FixedDeadline(0.1)).finished
    past_deadline.set()
    late_threads[0].join(5)
    assert not late_threads[0].is_alive()
    assert reported == []
    worker = threading.Thread(target=failing)
    worker.start()
    worker.join()
    assert reported == [ValueError]


def test_a_thread_the_task_starts_during_extraction_stays_the_tasks(comms):
    """Defect 1: ownership follows who started a thread, not when it was born."""
    broker.install_routing_comms()
    extraction_running = threading.Event()
    child_started = threading.Event()
    past_deadline = threading.Event()
    answers: list[object] = []
    errors: list[BaseException] = []

    def task_child():
        child_started.set()
        past_deadline.wait(5)
        try:
            answers.append(_channel().send("task-child"))
        except BaseException as err:
            errors.append(err)

    def task_thread():  # the task's own thread, started before the extraction
        extraction_running.wait(5)
        threading.Thread(target=task_child, name="task-child").start()

    worker = threading.Thread(target=task_thread, name="task-thread")
    worker.start()
    release = threading.Event()

    def extraction():
        extraction_running.set()
        child_started.wait(5)
        release.wait(5)

    outcome = broker.run_bounded(extraction, FixedDeadline(0.2))
    past_deadline.set()
    worker.join(5)
    for thread in threading.enumerate():
        if thread.name == "task-child":
            thread.join(5)
    release.set()
    assert not outcome.finished
    assert errors == []
    assert answers == ["answer-to-task-child"]


def test_a_thread_started_by_a_lineage_thread_after_the_deadline_is_lineages(comms):
    """Ownership is inherited at start, so even a thread born after the deadline cannot reach the socket."""
    broker.install_routing_comms()
    release = threading.Event()
    refused = threading.Event()
    done = threading.Event()

    def late_child():
        try:
            _channel().send("late")
        except broker.LineageDeadlineExceeded:
            refused.set()
        finally:
            done.set()

    def extraction():
        release.wait(5)
        threading.Thread(target=late_child, name="late-child", daemon=True).start()

    outcome = broker.run_bounded(extraction, FixedDeadline(0.1))
    assert not outcome.finished
    release.set()
    assert done.wait(5)
    assert refused.is_set()
    assert comms.calls == []


def test_ownership_is_kept_on_the_thread_not_in_a_growing_map(comms):
    """Defect 10 (broker part): nothing per thread is kept once the thread is gone."""
    routing = broker.install_routing_comms()
    for _ in range(20):

        def extraction():
            child = threading.Thread(target=lambda: _channel().send("x"))
            child.start()
            child.join()

        assert broker.run_bounded(extraction, FixedDeadline(5)).finished
    assert not hasattr(routing, "_owned")
