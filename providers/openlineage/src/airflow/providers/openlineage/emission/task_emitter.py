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
One lineage budget per task attempt, and the emitter that spends it.

``[openlineage] execution_timeout`` bounds everything lineage adds to the time a task holds its worker
slot, START and terminal event together:

* START: extraction and event building run before ``execute()`` (bounded); the START event is then
  handed to the sender and ``execute()`` starts at once, while it is being sent;
* terminal (COMPLETE / FAIL): extraction, then waiting for START's send and the terminal event's own,
  all within what is left of the budget, and never longer than fits inside Airflow's
  ``[core] task_success_overtime`` (after which the supervisor kills the task runner).

When the budget runs out the task goes on, what is unsent is abandoned (a child is killed and reaped;
a thread is left to die with the process) and one WARNING says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from airflow.providers.openlineage.emission import metrics
from airflow.providers.openlineage.emission.base import EventSender
from airflow.providers.openlineage.emission.broker import run_bounded
from airflow.providers.openlineage.emission.fork_sender import KILL_GRACE_SECONDS, ForkSender
from airflow.providers.openlineage.emission.worker import ThreadSender

log = logging.getLogger(__name__)

DEFAULT_TASK_SUCCESS_OVERTIME = 20
# Kept free below task_success_overtime: the terminal wait, a kill grace and the runner's own exit.
OVERTIME_SAFETY_MARGIN = 2.0 + KILL_GRACE_SECONDS


def task_success_overtime() -> float:
    """Airflow's ``[core] task_success_overtime`` in seconds."""
    try:
        from airflow.configuration import conf as airflow_conf

        return float(
            airflow_conf.getint("core", "task_success_overtime", fallback=DEFAULT_TASK_SUCCESS_OVERTIME)
        )
    except Exception:  # noqa: BLE001 - an unreadable value falls back to Airflow's default
        return float(DEFAULT_TASK_SUCCESS_OVERTIME)


class TaskBudget:
    """Seconds lineage may still block the task attempt."""

    def __init__(self, execution_timeout: float, overtime: float) -> None:
        self.total = float(execution_timeout)
        self.terminal_cap = max(0.0, overtime - OVERTIME_SAFETY_MARGIN)
        self.spent = 0.0
        if self.total > self.terminal_cap:
            log.warning(
                "[openlineage] execution_timeout=%ss does not fit in [core] task_success_overtime=%ss; "
                "the terminal event waits at most %.1fs",
                execution_timeout,
                overtime,
                self.terminal_cap,
            )

    def remaining(self, terminal: bool = False) -> float:
        left = max(0.0, self.total - self.spent)
        return min(left, self.terminal_cap) if terminal else left

    def charge(self, seconds: float) -> None:
        self.spent += max(0.0, seconds)


class TaskEmitter:
    """Extracts, builds and sends one task attempt's events within one budget."""

    def __init__(self, sender: EventSender, execution_timeout: float, overtime: float | None = None) -> None:
        self.sender = sender
        self.budget = TaskBudget(execution_timeout, task_success_overtime() if overtime is None else overtime)
        log.info(
            "OpenLineage task events are sent from %s; lineage adds at most %ss to this task",
            "a forked child process" if sender.mode == "fork" else "a daemon thread",
            execution_timeout,
        )

    def build(self, event_name: str, builder: Callable[[], Any], terminal: bool = False) -> Any:
        """Run ``builder`` (extraction and event building) within the remaining budget."""
        allowed = self.budget.remaining(terminal=terminal)
        if allowed <= 0:
            self._deadline_hit(event_name, "extraction", 0.0)
            return None
        outcome = run_bounded(builder, allowed, name=f"openlineage-{event_name.lower()}")
        self.budget.charge(outcome.elapsed)
        if not outcome.finished:
            self._deadline_hit(event_name, "extraction", outcome.elapsed)
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

    def send_start(self, event: Any) -> None:
        """Hand START to the sender; ``execute()`` does not wait for it."""
        self.sender.submit(event)

    def send_terminal(self, event: Any | None, event_name: str) -> bool:
        """Send the terminal event (if any) and wait for everything, within the remaining budget."""
        if event is not None:
            self.sender.submit(event)
        allowed = self.budget.remaining(terminal=True)
        started = time.monotonic()
        done = self.sender.wait(allowed)
        elapsed = time.monotonic() - started
        self.budget.charge(elapsed)
        if not done:
            self._deadline_hit(event_name, "sending", elapsed)
            self.sender.abandon()
        return done

    def _deadline_hit(self, event_name: str, stage: str, elapsed: float) -> None:
        metrics.incr("emit.timeout")
        log.warning(
            "OpenLineage %s event: %s did not finish within execution_timeout=%ss (mode %s, %.2fs spent "
            "on this task); the task goes on and unsent events are abandoned",
            event_name,
            stage,
            int(self.budget.total),
            self.sender.mode,
            self.budget.spent,
        )


def make_sender(execute_in_thread: bool, client_factory: Callable[[], Any]) -> EventSender:
    """The task-event sender for the configured mode."""
    if execute_in_thread:
        return ThreadSender(client_factory, name="openlineage-task-sender")
    return ForkSender(client_factory)


__all__ = ["TaskBudget", "TaskEmitter", "make_sender", "task_success_overtime"]
