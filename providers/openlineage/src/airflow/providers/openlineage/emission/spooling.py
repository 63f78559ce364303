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
What a sender does with an event it cannot deliver: keep it in the spool instead of dropping it.

Every sender holds one :class:`Spooling` (a no-op without ``spool_dir``). It is asked at the three
points where an event would otherwise be lost: the transport raised (after the client's own
retries), the queue overflowed, or the deadline passed with the event unsent. An event whose run
already has an earlier event on disk is spooled behind it rather than sent, so a run's START always
arrives before its terminal event. Spool writes run inside what is left of the caller's deadline:
senders keep :attr:`Spooling.reserve` of it free for them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from airflow.providers.openlineage.emission import metrics
from airflow.providers.openlineage.emission.base import Deadline, OpenLineageEvent, Payload, finished
from airflow.providers.openlineage.emission.deadline import FixedDeadline
from airflow.providers.openlineage.emission.delivery import Client, send_event
from airflow.providers.openlineage.emission.replay import (
    TASK_REPLAY_BUDGET_SECONDS,
    TASK_REPLAY_MAX_FILES,
    replay,
)
from airflow.providers.openlineage.emission.spool import Spool
from airflow.providers.openlineage.emission.spooled_event import run_id_of

log = logging.getLogger(__name__)

# Time kept free at the end of a deadline for writing what is unsent. One write (serialise, fsync,
# rename) measured 1.2-1.4 ms here (``bench/spool_bench.py``): this holds about 150 events, START and
# the terminal event first.
SPOOL_RESERVE_SECONDS = 0.2

SENT = "sent"
SPOOLED = "spooled"


class Spooling:
    """A sender's use of the spool; every method is safe to call with no spool configured."""

    def __init__(self, spool: Spool | None) -> None:
        self.spool = spool
        self.spooled = 0
        self.not_kept = 0  # could not be written (full and nothing removable, unwritable): dropped
        self.backend_failed = False  # the last send to the backend raised

    @property
    def enabled(self) -> bool:
        return self.spool is not None

    @property
    def reserve(self) -> float:
        """Seconds a sender leaves free at the end of its deadline for :meth:`keep_all`."""
        return SPOOL_RESERVE_SECONDS if self.spool is not None else 0.0

    def deliver(self, client: Client, event: OpenLineageEvent) -> str:
        """
        Send ``event``, or spool it; returns :data:`SENT` or :data:`SPOOLED`.

        Raises what the transport raised when the event could not be kept either (no spool, spool full).
        """
        spool = self.spool
        ordered_behind = spool is not None and spool.holds_run(run_id_of(event))
        if ordered_behind and self.keep(event, "an earlier event of its run is spooled"):
            return SPOOLED
        try:
            send_event(client, event)
        except Exception:
            self.backend_failed = True
            if self.keep(event, "the backend failed"):
                return SPOOLED
            raise
        self.backend_failed = False
        return SENT

    def keep(self, event: Payload, reason: str) -> bool:
        """Spool one event; False when there is no spool or it could not be written."""
        if self.spool is None:
            return False
        try:
            ready = finished(event)
        except Exception as err:  # noqa: BLE001 - an event that cannot be redacted is not written
            log.warning("OpenLineage event not spooled, it could not be redacted: %s", type(err).__name__)
            self.not_kept += 1
            return False
        if ready is None:  # a deferred build that turned out to have nothing to send
            return False
        if self.spool.write(ready, reason):
            self.spooled += 1
            return True
        self.not_kept += 1
        return False

    def note_spooled_elsewhere(self, events: Iterable[OpenLineageEvent]) -> None:
        """Events a forked child spooled: later events of their runs must queue behind them here too."""
        if self.spool is not None:
            for event in events:
                self.spool.note_run(run_id_of(event))

    def keep_all(self, events: Iterable[tuple[Payload, bool]], reason: str, deadline: Deadline) -> int:
        """
        Spool ``(event, essential)`` pairs while ``deadline`` allows; what does not fit is dropped, counted.

        START and terminal events are written first (in their order), then the extras: when time runs
        short it is the extras (child query events, public-API events) that do not make it. A payload
        still to be redacted is redacted only while the deadline lasts, on a daemon thread the caller
        waits for no longer than the deadline: a slow masker never holds the task past it.
        """
        if self.spool is None:
            return 0
        pending = list(events)
        ordered = [event for event, essential in pending if essential]
        ordered += [event for event, essential in pending if not essential]
        if not ordered:
            return 0
        progress = _KeepProgress(len(ordered))
        if deadline.expired:
            self._count_not_kept(progress.left)
            return 0
        writer = threading.Thread(
            target=self._keep_in_order,
            args=(ordered, reason, deadline, progress),
            name="openlineage-spool-writer",
            daemon=True,
        )
        writer.start()
        if not progress.done.wait(deadline.remaining()):
            progress.abandoned = True  # what the writer has not begun is dropped, counted by it
        return progress.kept

    def _keep_in_order(
        self, ordered: list[Payload], reason: str, deadline: Deadline, progress: _KeepProgress
    ) -> None:
        try:
            for event in ordered:
                if deadline.expired or progress.abandoned:
                    break
                progress.kept += self.keep(event, reason)
                progress.left -= 1
            self._count_not_kept(progress.left)
        finally:
            progress.done.set()

    def _count_not_kept(self, count: int) -> None:
        self.not_kept += count
        for _ in range(count):
            metrics.incr("spool.dropped.deadline")

    def replay_backlog(self, client_factory: Callable[[], Any], deadline: Deadline) -> int:
        """
        After a task's own events went out, send a few spooled ones (a task runner's share).

        Nothing when the backend just failed, or less than the task replay budget is left.
        """
        spool = self.spool
        if spool is None or self.backend_failed:
            return 0
        seconds = min(deadline.remaining(), TASK_REPLAY_BUDGET_SECONDS)
        if seconds <= 0 or not spool.entries():
            return 0
        started = time.monotonic()
        result = replay(spool, client_factory, FixedDeadline(seconds), max_files=TASK_REPLAY_MAX_FILES)
        metrics.timing("spool.task_replay", time.monotonic() - started)
        return result.sent


class _KeepProgress:
    """How far a bounded :meth:`Spooling.keep_all` got; shared with its writer thread."""

    def __init__(self, count: int) -> None:
        self.left = count
        self.kept = 0
        self.abandoned = False
        self.done = threading.Event()


__all__ = ["SENT", "SPOOLED", "SPOOL_RESERVE_SECONDS", "Spooling"]
