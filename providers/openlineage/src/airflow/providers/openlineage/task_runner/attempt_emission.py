# Licensed to the Apache Software Foundation (ASF) under one
# or more contributor license agreements.  See the NOTICE file
# distributed with this work for additional information
# regarding copyright ownership.  The ASF licenses this file
# to you under the Apache License, Version 2.0 (the
# "License"); you may not use this file except in compliance
# with the License.  You may obtain a copy of the License at
#
#   http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing,
# software distributed under the License is distributed on an
# "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY
# KIND, either express or implied.  See the License for the
# specific language governing permissions and limitations
# under the License.
"""
One task attempt's emission: extraction, building and sending within one :class:`~.deadline.AttemptDeadline`.

* START: extraction and event building run before ``execute()``, bounded by the START phase; the event
  is handed to the sender and ``execute()`` starts at once, while it is being sent.
* Extras (a task's query events, public-API events) join the same sender as non-essential events.
* terminal (COMPLETE / FAIL): extraction and building, then closing the sender (START's send, the
  extras, the terminal event, and the client's own buffer), all within the terminal phase. The phase
  ends at the earlier of what is left of ``execution_timeout`` and Airflow's ``task_success_overtime``
  counted from when the task reported its state.

When the deadline passes the task goes on, what is unsent is abandoned (a child is killed and reaped
within the deadline; a thread is left to die with the process) and one WARNING says so. A SIGTERM from
the supervisor during the terminal wait cuts the deadline: the runner is let go at once.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from airflow.providers.openlineage.emission import metrics
from airflow.providers.openlineage.emission.base import EmissionMode, EventSender, OpenLineageEvent, Payload
from airflow.providers.openlineage.emission.deadline import OVERTIME_MARGIN, AttemptDeadline, Phase
from airflow.providers.openlineage.task_runner.supervisor_broker import run_bounded

log = logging.getLogger(__name__)

DEFAULT_TASK_SUCCESS_OVERTIME = 20
_T = TypeVar("_T")


def task_success_overtime() -> float:
    """Airflow's ``[core] task_success_overtime`` in seconds."""
    try:
        from airflow.configuration import conf as airflow_conf

        return float(
            airflow_conf.getint("core", "task_success_overtime", fallback=DEFAULT_TASK_SUCCESS_OVERTIME)
        )
    except Exception:  # noqa: BLE001 - an unreadable value falls back to Airflow's default
        return float(DEFAULT_TASK_SUCCESS_OVERTIME)


@contextlib.contextmanager
def cut_on_sigterm(deadline: AttemptDeadline) -> Iterator[None]:
    """
    While waiting, let the supervisor's SIGTERM end the wait at once (the earlier handler still runs).

    The Task SDK's own handler only calls ``on_kill``; during the terminal wait that would leave the
    runner waiting until it is SIGKILLed. Only the main thread can install handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: Any) -> None:
        deadline.cut()
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            raise SystemExit(128 + signum)

    try:
        signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class AttemptEmission:
    """Extracts, builds and sends one task attempt's events within one deadline."""

    def __init__(self, sender: EventSender, deadline: AttemptDeadline) -> None:
        self.sender = sender
        self.deadline = deadline
        self.abandoned = 0
        self.submitted = 0
        self.not_built = 0
        self._warned_in: Phase | None = None
        if not deadline.fits_in_overtime():
            log.warning(
                "[openlineage] execution_timeout=%ss does not fit in [core] task_success_overtime=%ss; "
                "the terminal event waits at most %.1fs after the task reports its state",
                _seconds(deadline.execution_timeout),
                _seconds(deadline.task_success_overtime),
                max(0.0, deadline.task_success_overtime - OVERTIME_MARGIN),
            )
        # DEBUG: the attempt's summary line (INFO) ends the task log; one line per attempt is enough.
        log.debug(
            "OpenLineage task events are sent from %s; lineage adds at most %ss to this task",
            sender.mode.description,
            _seconds(deadline.execution_timeout),
        )

    @property
    def mode(self) -> EmissionMode:
        return self.sender.mode

    def build_start(self, builder: Callable[[], _T | None]) -> _T | None:
        self.deadline.begin_start()
        return self._build("START", builder)

    def send_start(self, event: Payload | None) -> None:
        """Hand START to the sender; ``execute()`` does not wait for it."""
        if event is not None:
            self.submitted += 1
            self.sender.submit(event)
        self.deadline.end_start()

    def submit_extra(self, event: OpenLineageEvent) -> None:
        """An event emitted by the task itself; it may be dropped first when the queue is full."""
        self.submitted += 1
        self.sender.submit(event, essential=False)

    def build_terminal(
        self, event_name: str, builder: Callable[[], _T | None], state_reported_at: float | None
    ) -> _T | None:
        self.deadline.begin_terminal(state_reported_at)
        return self._build(event_name, builder)

    def send_terminal(self, event: Payload | None, event_name: str) -> bool:
        """Send the terminal event and close the sender, all within the terminal phase."""
        if event is not None:
            self.submitted += 1
            self.sender.submit(event)
        return self._close_sender(event_name)

    def end_without_terminal(self) -> bool:
        """
        The runner stops with no terminal event (the task deferred, was rescheduled, awaits input).

        What is still pending (START of a runner that deferred at once) goes out within the terminal
        phase's budget, as a terminal event would: START and this wait together stay within one
        ``execution_timeout``.
        """
        self.deadline.begin_terminal()
        return self._close_sender("START")

    def _close_sender(self, event_name: str) -> bool:
        """Close the sender within the terminal phase; what it could not send is abandoned (or spooled)."""
        with cut_on_sigterm(self.deadline):
            done = self.sender.close(self.deadline)
            if not done:
                self.abandoned = self.sender.pending
                spooled_before = self.sender.spooled
                self.sender.abandon(self.deadline)  # with a spool, what is unsent is written to disk
                self._deadline_hit(event_name, "sending", spooled=self.sender.spooled - spooled_before)
        self.deadline.end_terminal()
        return done

    def summary(self) -> str:
        """The one line a task log ends with: what was sent, what was not, and the time lineage added."""
        sent, failed, dropped = self.sender.sent, self.sender.failed, self.sender.dropped
        spooled = self.sender.spooled
        abandoned = max(0, self.abandoned - spooled)
        parts = [
            f"{count} {what}"
            for count, what in (
                (spooled, "spooled for later delivery"),
                (abandoned, "abandoned at the deadline"),
                (failed, "failed"),
                (dropped, "dropped (queue full)"),
                (self.not_built, "not built"),
            )
            if count
        ]
        took = f"in {self.deadline.blocked * 1000:.0f} ms ({self.mode.value})"
        noun = "event" if self.submitted == 1 else "events"
        if not parts and sent == self.submitted:
            return f"OpenLineage: {sent} {noun} sent {took}"
        missing = ", ".join(parts) or "none failed"
        return f"OpenLineage: {sent} of {self.submitted} {noun} sent, {missing}, {took}"

    def _build(self, event_name: str, builder: Callable[[], _T | None]) -> _T | None:
        outcome_event = self._build_once(event_name, builder)
        if outcome_event is None:
            self.not_built += 1
        return outcome_event

    def _build_once(self, event_name: str, builder: Callable[[], _T | None]) -> _T | None:
        if self.deadline.expired:
            self._deadline_hit(event_name, "extraction")
            return None
        outcome = run_bounded(builder, self.deadline, name=f"{event_name} extraction")
        if not outcome.finished:
            self._deadline_hit(event_name, "extraction")
            return None
        if outcome.error is not None:
            log.warning(
                "OpenLineage %s event could not be built, it is not sent: %s: %s",
                event_name,
                type(outcome.error).__name__,
                outcome.error,
            )
            return None
        return outcome.result

    def _deadline_hit(self, event_name: str, stage: str, spooled: int = 0) -> None:
        """One WARNING per phase: an extraction cut at the deadline leaves nothing to say about sending."""
        metrics.incr("emit.timeout")
        if self._warned_in is self.deadline.phase:
            return
        self._warned_in = self.deadline.phase
        cause = (
            "the room left before [core] task_success_overtime"
            if self.deadline.capped_by_overtime and event_name != "START"
            else f"execution_timeout={_seconds(self.deadline.execution_timeout)}s"
        )
        outcome = (
            f"{spooled} unsent event(s) were spooled for later delivery"
            if spooled
            else "unsent events are abandoned"
        )
        log.warning(
            "OpenLineage %s event: %s did not finish within %s (mode %s, %.2fs spent on this task); "
            "the task goes on and %s",
            event_name,
            stage,
            cause,
            self.sender.mode.value,
            self.deadline.blocked,
            outcome,
        )


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


__all__ = ["AttemptEmission", "cut_on_sigterm", "task_success_overtime"]
