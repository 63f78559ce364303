"""Both senders behind one interface: order, bounded flush and close, buffering clients, drop policy."""

from __future__ import annotations

import threading
import time

import pytest
from hang import hang
from sender_support import FileClient, _event, _lines, _open_fds, wait_until  # noqa: F401 - shared with other tests

from airflow.providers.openlineage.emission.deadline import FixedDeadline
from airflow.providers.openlineage.emission.fork_sender import ForkSender
from airflow.providers.openlineage.emission.thread_sender import ThreadSender


@pytest.mark.parametrize("sender_class", [ForkSender, ThreadSender])
def test_events_are_sent_in_order(tmp_path, sender_class):
    out = tmp_path / "events"
    sender = sender_class(lambda: FileClient(out, delay=0.05))
    for name in ("START", "COMPLETE"):
        sender.submit(_event(name))
    assert sender.close(FixedDeadline(10))
    assert [e["name"] for e in _lines(out)] == ["START", "COMPLETE"]


@pytest.mark.parametrize("sender_class", [ForkSender, ThreadSender])
def test_order_holds_when_submits_interleave_with_sends(tmp_path, sender_class):
    """An event submitted after an earlier child finished still waits for the events queued before it."""
    out = tmp_path / "events"
    sender = sender_class(lambda: FileClient(out, delay=0.2))
    sender.submit(_event("START"))
    sender.submit(_event("RUNNING"))
    sender.submit(_event("QUERY_START"))
    # START is sent; RUNNING is in flight or done; QUERY_START may still be queued
    assert wait_until(lambda: [e["name"] for e in _lines(out)][:1] == ["START"])
    sender.submit(_event("QUERY_COMPLETE"))
    sender.submit(_event("COMPLETE"))
    assert sender.close(FixedDeadline(10))
    assert [e["name"] for e in _lines(out)] == [
        "START",
        "RUNNING",
        "QUERY_START",
        "QUERY_COMPLETE",
        "COMPLETE",
    ]


@pytest.mark.parametrize("sender_class", [ForkSender, ThreadSender])
def test_wait_is_bounded_with_a_hung_client(tmp_path, sender_class):
    sender = sender_class(lambda: FileClient(tmp_path / "never", delay=3600))
    sender.submit(_event("START"))
    started = time.monotonic()
    deadline = FixedDeadline(0.8)
    assert sender.close(deadline) is False
    sender.abandon(deadline)
    assert time.monotonic() - started < 0.8 + 0.3  # the kill and reap fit inside the deadline


def test_thread_sender_drops_oldest_when_full(tmp_path):
    gate = threading.Event()

    class Blocking:
        def emit(self, event):
            gate.wait(5)

    sender = ThreadSender(lambda: Blocking(), max_queue_size=2)
    for i in range(5):
        sender.submit(_event(str(i)))
    assert sender.dropped >= 2
    gate.set()
    assert sender.flush(FixedDeadline(5))


def test_thread_sender_survives_transport_errors(tmp_path):
    out = tmp_path / "events"
    calls = []

    class Flaky:
        def emit(self, event):
            calls.append(event["name"])
            if event["name"] == "bad":
                raise ConnectionError("refused")
            FileClient(out).emit(event)

    sender = ThreadSender(lambda: Flaky())
    for name in ("bad", "good"):
        sender.submit(_event(name))
    assert sender.flush(FixedDeadline(5))
    assert sender.failed == 1
    assert sender.sent == 1
    assert [e["name"] for e in _lines(out)] == ["good"]


def test_a_dead_worker_thread_is_replaced_and_later_events_flow(tmp_path, caplog):
    """An error that kills the thread (not a transport error) costs its event only."""
    out = tmp_path / "events"
    sender = ThreadSender(lambda: FileClient(out))

    def killer():
        raise SystemExit("injected: the worker thread dies")

    sender.submit(_event("BEFORE"))
    assert sender.flush(FixedDeadline(10))
    first_thread = sender._thread
    with caplog.at_level("WARNING"):
        sender.submit(killer)
        sender.submit(_event("AFTER_1"))  # queued behind the killer, sent by the replacement
        assert sender.flush(FixedDeadline(10))
    sender.submit(_event("AFTER_2"))
    assert sender.flush(FixedDeadline(10))
    assert [e["name"] for e in _lines(out)] == ["BEFORE", "AFTER_1", "AFTER_2"]
    assert sender._thread is not first_thread
    assert sender.is_alive()
    assert sum("died" in r.getMessage() for r in caplog.records) == 1


class BufferingClient:
    """Like ``async_http``: ``emit`` only queues; events reach the file when the client is closed."""

    def __init__(self, path):
        self.path = path
        self.buffer = []

    def emit(self, event):
        self.buffer.append(event)

    def close(self, timeout):
        assert timeout > 0  # never "0 = wait forever"
        for event in self.buffer:
            FileClient(self.path).emit(event)
        self.buffer.clear()
        return True


@pytest.mark.parametrize("sender_class", [ForkSender, ThreadSender])
def test_close_delivers_what_a_buffering_client_holds(tmp_path, sender_class):
    out = tmp_path / "events"
    sender = sender_class(lambda: BufferingClient(out))
    sender.submit(_event("START"))
    sender.submit(_event("COMPLETE"))
    assert sender.close(FixedDeadline(10))
    assert [e["name"] for e in _lines(out)] == ["START", "COMPLETE"]
    assert sender.submit(_event("LATE")) is False  # closed: nothing more is accepted


@pytest.mark.parametrize("sender_class", [ForkSender, ThreadSender])
def test_close_is_bounded_when_the_client_hangs_in_close(tmp_path, sender_class):
    class HangsOnClose(BufferingClient):
        def close(self, timeout):
            hang(3600)

    sender = sender_class(lambda: HangsOnClose(tmp_path / "never"))
    sender.submit(_event("COMPLETE"))
    deadline = FixedDeadline(0.8)
    started = time.monotonic()
    assert sender.close(deadline) is False
    sender.abandon(deadline)
    assert time.monotonic() - started < 1.1


@pytest.mark.parametrize("sender_class", [ForkSender, ThreadSender])
def test_a_full_queue_drops_extras_before_essential_events(tmp_path, sender_class):
    gate = tmp_path / "gate"
    out = tmp_path / "events"

    entered = tmp_path / "entered"

    class Gated:
        def emit(self, event):
            entered.touch()
            while not gate.exists():
                time.sleep(0.01)
            FileClient(out).emit(event)

    def extra(i):
        event = _event(f"extra-{i}")
        if sender_class is ForkSender:
            # Larger than a pipe holds, so frames wait in the task runner (where the bound applies)
            # and the first one stays partly written, handed to the child, never dropped.
            event["padding"] = "x" * 300_000
        return event

    sender = sender_class(lambda: Gated(), max_queue_size=3)
    sender.submit(_event("START"))  # taken at once (a child or the thread), not queued
    assert wait_until(entered.exists)
    for i in range(5):
        sender.submit(extra(i), essential=False)
    sender.submit(_event("COMPLETE"))
    gate.touch()
    assert sender.close(FixedDeadline(10))
    names = [e["name"] for e in _lines(out)]
    assert names[0] == "START"
    assert names[-1] == "COMPLETE"
    assert sender.dropped == 3
    kept = ["extra-0", "extra-4"] if sender_class is ForkSender else ["extra-3", "extra-4"]
    assert names[1:-1] == kept
