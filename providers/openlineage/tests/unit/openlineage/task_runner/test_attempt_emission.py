"""One attempt's emission: the terminal phase is spent once, and the supervisor's SIGTERM ends the wait."""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
import time

import pytest
from hang import hang
from sender_support import FileClient, _event, _lines

from airflow.providers.openlineage.emission.deadline import AttemptDeadline
from airflow.providers.openlineage.emission.fork_sender import ForkSender
from airflow.providers.openlineage.emission.thread_sender import ThreadSender
from airflow.providers.openlineage.task_runner.attempt_emission import AttemptEmission


class Hung:
    def emit(self, event):
        hang(3600)


def test_sigterm_during_the_terminal_wait_lets_the_runner_go_and_chains_the_old_handler():
    seen = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
    try:
        emission = AttemptEmission(ThreadSender(lambda: Hung()), AttemptDeadline(30, 60))
        emission.deadline.begin_terminal(state_reported_at=None)
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM)).start()
        started = time.monotonic()
        assert emission.send_terminal(_event("COMPLETE"), "COMPLETE") is False
        assert time.monotonic() - started < 1.5  # not the 30 s the deadline allowed
        assert seen == [signal.SIGTERM]  # the Task SDK's handler (on_kill) still ran
        assert signal.getsignal(signal.SIGTERM) is not None
        assert signal.getsignal(signal.SIGTERM).__name__ == "<lambda>"  # restored
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_terminal_build_and_send_share_one_phase(caplog):
    """A slow terminal extraction leaves the send only what is left, not a fresh allowance."""
    emission = AttemptEmission(ThreadSender(lambda: Hung()), AttemptDeadline(1.0, 60))
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        event = emission.build_terminal("COMPLETE", lambda: time.sleep(0.7) or _event("COMPLETE"), None)
        assert event is not None
        assert emission.send_terminal(event, "COMPLETE") is False
    assert time.monotonic() - started < 1.0 + 0.3
    warnings = [r.getMessage() for r in caplog.records if "did not finish" in r.getMessage()]
    assert len(warnings) == 1
    assert "sending did not finish within execution_timeout=1s" in warnings[0]


def test_a_timeout_that_does_not_fit_in_the_overtime_is_one_warning(caplog):
    with caplog.at_level(logging.WARNING):
        AttemptEmission(ThreadSender(lambda: Hung()), AttemptDeadline(30, 20))
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lines) == 1
    assert "execution_timeout=30s does not fit in [core] task_success_overtime=20s" in lines[0]


def test_an_extraction_cut_at_the_deadline_is_one_warning_not_two(caplog):
    emission = AttemptEmission(ThreadSender(lambda: Hung()), AttemptDeadline(0.5, 60))
    emission.build_start(lambda: _event("START"))
    emission.send_start(_event("START"))  # hangs in the sender thread
    with caplog.at_level(logging.WARNING):
        assert emission.build_terminal("COMPLETE", lambda: time.sleep(5), None) is None
        assert emission.send_terminal(None, "COMPLETE") is False
    lines = [r.getMessage() for r in caplog.records if "did not finish" in r.getMessage()]
    assert len(lines) == 1
    assert "extraction did not finish" in lines[0]


class Quick:
    def emit(self, event):
        pass


def test_the_summary_line_says_what_was_sent_and_what_was_not():
    healthy = AttemptEmission(ThreadSender(lambda: Quick()), AttemptDeadline(5, 60))
    healthy.send_start(healthy.build_start(lambda: _event("START")))
    healthy.send_terminal(healthy.build_terminal("COMPLETE", lambda: _event("COMPLETE"), None), "COMPLETE")
    assert re.fullmatch(r"OpenLineage: 2 events sent in \d+ ms \(thread\)", healthy.summary())

    hung = AttemptEmission(ThreadSender(lambda: Hung()), AttemptDeadline(0.3, 60))
    hung.send_start(hung.build_start(lambda: _event("START")))
    hung.submit_extra(_event("QUERY"))
    hung.send_terminal(hung.build_terminal("COMPLETE", lambda: _event("COMPLETE"), None), "COMPLETE")
    assert re.fullmatch(
        r"OpenLineage: 0 of 3 events sent, 3 abandoned at the deadline, in \d+ ms \(thread\)", hung.summary()
    ), hung.summary()


def test_the_summary_counts_abandoned_events_once_in_fork_mode():
    hung = AttemptEmission(ForkSender(lambda: Hung()), AttemptDeadline(1.0, 60))
    hung.send_start(hung.build_start(lambda: _event("START")))  # forked at once, hangs
    hung.submit_extra(_event("QUERY"))  # queued behind it
    hung.send_terminal(hung.build_terminal("COMPLETE", lambda: _event("COMPLETE"), None), "COMPLETE")
    assert re.fullmatch(
        r"OpenLineage: 0 of 3 events sent, 3 abandoned at the deadline, in \d+ ms \(fork\)", hung.summary()
    ), hung.summary()


@pytest.mark.parametrize("sender_class", [ForkSender, ThreadSender])
def test_a_runner_that_stops_without_a_terminal_event_still_sends_its_start(tmp_path, sender_class):
    """A task that defers at once: its runner exits right after START was handed over."""
    out = tmp_path / "events"
    emission = AttemptEmission(sender_class(lambda: FileClient(out, delay=0.4)), AttemptDeadline(5.0, 60))
    emission.send_start(emission.build_start(lambda: _event("START")))
    assert emission.end_without_terminal() is True
    assert [e["name"] for e in _lines(out)] == ["START"]
    assert emission.sender.pending == 0
    assert emission.summary().startswith("OpenLineage: 1 event sent in ")


@pytest.mark.parametrize("sender_class", [ForkSender, ThreadSender])
def test_a_runner_that_stops_without_a_terminal_event_waits_at_most_the_timeout(sender_class):
    emission = AttemptEmission(sender_class(lambda: Hung()), AttemptDeadline(0.8, 60))
    emission.send_start(emission.build_start(lambda: _event("START")))
    started = time.monotonic()
    assert emission.end_without_terminal() is False
    assert time.monotonic() - started < 0.8 + 0.3
    assert "1 abandoned at the deadline" in emission.summary()
