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
One deadline per task attempt, as monotonic instants.

``[openlineage] execution_timeout`` bounds what lineage *adds* to the time a task holds its worker slot,
START and terminal event together. The time the task spends in ``execute()`` is not lineage's, so the
attempt deadline is made of two phases:

* START: fixed when START begins, ``start_begun + execution_timeout``. What START blocks (its extraction,
  before ``execute()``) is recorded when the phase ends.
* terminal: fixed when the terminal phase begins, at the earlier of

  - ``terminal_begun + (execution_timeout - what START blocked)``, and
  - ``state_reported + [core] task_success_overtime - OVERTIME_MARGIN``: the supervisor starts its overtime
    clock when the task reports its state (before the task's own success callbacks run), and kills the
    runner once it is spent; the margin keeps room for a kill grace, a reap and the runner's exit.

Every wait, join, kill grace, reap and client close asks :meth:`AttemptDeadline.remaining`; nothing
computes its own timeout. :meth:`AttemptDeadline.cut` ends the deadline at once (the supervisor's
SIGTERM). The clock is injectable so every branch can be tested without sleeping.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

Clock = Callable[[], float]

# Kept free below task_success_overtime: a child's kill grace and reap, and the task runner's own exit.
OVERTIME_MARGIN = 2.5


class Phase(enum.Enum):
    """Which part of the attempt the deadline currently bounds."""

    IDLE = "idle"
    START = "start"
    BETWEEN = "between"
    TERMINAL = "terminal"


class AttemptDeadline:
    """When lineage must let go of one task attempt; read with :meth:`remaining`."""

    def __init__(
        self,
        execution_timeout: float,
        task_success_overtime: float,
        *,
        clock: Clock = time.monotonic,
        overtime_margin: float = OVERTIME_MARGIN,
    ) -> None:
        self.execution_timeout = max(0.0, float(execution_timeout))
        self.task_success_overtime = max(0.0, float(task_success_overtime))
        self._clock = clock
        self._margin = overtime_margin
        self.phase = Phase.IDLE
        self._end: float | None = None
        self._phase_begun = 0.0
        self.start_blocked = 0.0
        self.terminal_blocked = 0.0
        self.capped_by_overtime = False

    # -- phases --------------------------------------------------------------------------------

    def begin_start(self) -> None:
        """START begins: the phase may block for at most ``execution_timeout``."""
        now = self._clock()
        self.phase = Phase.START
        self._phase_begun = now
        self._end = now + self.execution_timeout

    def end_start(self) -> None:
        """START stops blocking the task (``execute()`` begins); what it blocked is charged."""
        if self.phase is Phase.START:
            self.start_blocked = min(self.execution_timeout, max(0.0, self._clock() - self._phase_begun))
        self.phase = Phase.BETWEEN
        self._end = None

    def begin_terminal(self, state_reported_at: float | None = None) -> None:
        """
        The terminal phase begins; fix its end.

        ``state_reported_at`` is when the task reported its final state to the supervisor (its
        overtime clock's start); ``None`` means "now", when it is not known.
        """
        if self.phase is Phase.START:
            self.end_start()
        now = self._clock()
        reported = now if state_reported_at is None else min(state_reported_at, now)
        budget_end = now + max(0.0, self.execution_timeout - self.start_blocked)
        overtime_end = reported + max(0.0, self.task_success_overtime - self._margin)
        self.capped_by_overtime = overtime_end < budget_end
        self.phase = Phase.TERMINAL
        self._phase_begun = now
        self._end = min(budget_end, overtime_end)

    def end_terminal(self) -> None:
        """The terminal phase is over (sent, or abandoned)."""
        if self.phase is Phase.TERMINAL:
            self.terminal_blocked = max(0.0, self._clock() - self._phase_begun)
        self.phase = Phase.IDLE
        self._end = None

    def cut(self) -> None:
        """End the current phase now: nothing may wait any longer (the runner is being terminated)."""
        self._end = self._clock()

    # -- reading -------------------------------------------------------------------------------

    def remaining(self, reserve: float = 0.0) -> float:
        """Seconds left in the current phase, less ``reserve`` kept for clean-up; 0 outside a phase."""
        if self._end is None:
            return 0.0
        return max(0.0, self._end - self._clock() - max(0.0, reserve))

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0

    @property
    def blocked(self) -> float:
        """Seconds this attempt's lineage has blocked the task so far."""
        extra = self._clock() - self._phase_begun if self.phase in (Phase.START, Phase.TERMINAL) else 0.0
        return self.start_blocked + self.terminal_blocked + max(0.0, extra)

    def fits_in_overtime(self) -> bool:
        """False when ``execution_timeout`` cannot fit inside ``task_success_overtime``."""
        return self.execution_timeout <= max(0.0, self.task_success_overtime - self._margin)


class FixedDeadline:
    """A plain "now + seconds" deadline, for callers outside a task attempt (long-lived processes)."""

    def __init__(self, seconds: float, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + max(0.0, seconds)

    def remaining(self, reserve: float = 0.0) -> float:
        return max(0.0, self._end - self._clock() - max(0.0, reserve))

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def cut(self) -> None:
        self._end = self._clock()


__all__ = ["OVERTIME_MARGIN", "AttemptDeadline", "Clock", "FixedDeadline", "Phase"]
