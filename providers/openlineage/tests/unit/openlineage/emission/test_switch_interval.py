"""The switch interval is short only while a lineage thread works, and a task's own choice is kept."""

from __future__ import annotations

import os
import sys
import threading

import pytest
from sender_support import FileClient, _event, wait_until

from airflow.providers.openlineage.emission import switch_interval
from airflow.providers.openlineage.emission.deadline import FixedDeadline
from airflow.providers.openlineage.emission.switch_interval import SHORT_INTERVAL, short_switch_interval
from airflow.providers.openlineage.emission.thread_sender import ThreadSender


@pytest.fixture(autouse=True)
def default_interval(monkeypatch):
    # A fresh module state for each test (the watchdog too: it waits on the module's condition).
    monkeypatch.setattr(switch_interval, "_holders", 0)
    monkeypatch.setattr(switch_interval, "_restore", None)
    monkeypatch.setattr(switch_interval, "_cond", threading.Condition())
    monkeypatch.setattr(switch_interval, "_watchdog", None)
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    yield
    sys.setswitchinterval(before)


def test_lowered_while_held_and_restored_after_the_last_holder():
    with short_switch_interval():
        assert sys.getswitchinterval() == pytest.approx(SHORT_INTERVAL)
        with short_switch_interval():
            assert sys.getswitchinterval() == pytest.approx(SHORT_INTERVAL)
        assert sys.getswitchinterval() == pytest.approx(SHORT_INTERVAL)  # the outer holder still works
    assert sys.getswitchinterval() == pytest.approx(0.005)


def test_an_interval_the_task_set_meanwhile_is_left_alone():
    with short_switch_interval():
        sys.setswitchinterval(0.02)
    assert sys.getswitchinterval() == pytest.approx(0.02)


def test_an_interval_already_shorter_is_not_touched():
    sys.setswitchinterval(0.0001)
    with short_switch_interval():
        assert sys.getswitchinterval() == pytest.approx(0.0001)
    assert sys.getswitchinterval() == pytest.approx(0.0001)


def test_the_sender_thread_holds_it_while_it_sends_and_gives_it_back(tmp_path):
    seen = []

    class Client(FileClient):
        def emit(self, event):
            seen.append(sys.getswitchinterval())
            super().emit(event)

    sender = ThreadSender(lambda: Client(tmp_path / "events"))
    sender.submit(_event("START"))
    assert sender.close(FixedDeadline(5))
    assert seen == [pytest.approx(SHORT_INTERVAL)]
    assert sys.getswitchinterval() == pytest.approx(0.005)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is not available on this platform")
def test_a_forked_child_gets_the_interval_back_and_a_free_lock():
    held = threading.Event()
    release = threading.Event()

    def hold():
        with short_switch_interval():
            held.set()
            release.wait(5)

    worker = threading.Thread(target=hold)
    worker.start()
    assert held.wait(5)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: no lineage thread here; the interval must be back and the lock usable
        ok = sys.getswitchinterval() == 0.005 or abs(sys.getswitchinterval() - 0.005) < 1e-6
        with short_switch_interval():
            ok = ok and abs(sys.getswitchinterval() - SHORT_INTERVAL) < 1e-6
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    try:
        assert os.read(read, 1) == b"1"
    finally:
        os.close(read)
        os.waitpid(pid, 0)
        release.set()
        worker.join(5)
    assert switch_interval._holders == 0
    assert sys.getswitchinterval() == pytest.approx(0.005)


def test_a_sender_blocked_on_a_hung_backend_gives_the_interval_back(tmp_path):
    """Defect 4: the short interval is process-wide; it is held at most MAX_HOLD, never for a hung send."""
    entered = threading.Event()
    release = threading.Event()

    class HungClient(FileClient):
        def emit(self, event):
            entered.set()
            release.wait(30)

    sender = ThreadSender(lambda: HungClient(tmp_path / "events"))
    sender.submit(_event("START"))
    try:
        assert entered.wait(5)
        assert wait_until(lambda: sys.getswitchinterval() == pytest.approx(0.005), timeout=5)
    finally:
        release.set()
        assert sender.close(FixedDeadline(5))
    assert sys.getswitchinterval() == pytest.approx(0.005)
    # ...and the next send gets it again
    with short_switch_interval():
        assert sys.getswitchinterval() == pytest.approx(SHORT_INTERVAL)


def test_no_watchdog_thread_at_shutdown_still_lowers_and_gives_back(monkeypatch):
    """At interpreter shutdown no thread can start: the hold still works and is given back by its holder."""

    def refuse(self):
        raise RuntimeError("can't create new thread at interpreter shutdown")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    with short_switch_interval():
        assert sys.getswitchinterval() == pytest.approx(SHORT_INTERVAL)
    assert sys.getswitchinterval() == pytest.approx(0.005)
