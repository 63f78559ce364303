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
One task attempt as the task runner sees it: its key, where it is in its life, and what it owns.

An attempt is one try of one task instance (map index included). One runner process may host many
attempts one after another (``airflow dags test``, ``tasks test``, in-process executors), and one
attempt may span several runner processes (a deferred task resumed after its trigger fired, a
rescheduled sensor poking again). Each *segment* of an attempt in one process gets its own
:class:`TaskAttempt`: its sender, deadline, extras, secrets and summary counts belong to it alone, so
nothing of one can reach another.

Only the first segment of an attempt sends START; a resumed segment (``next_method`` set by the
server, or a sensor's reschedule count above zero) sends no event until the attempt's terminal one.
"""

from __future__ import annotations

import collections
import enum
import logging
import threading
from typing import TYPE_CHECKING, Any, NamedTuple

from airflow.providers.openlineage.describe.run_ids import safe_getattr, template_context
from airflow.providers.openlineage.emission import metrics

if TYPE_CHECKING:
    from airflow.providers.openlineage.describe.emission_policy import EmissionPolicy
    from airflow.providers.openlineage.describe.events import TaskRunIdentity
    from airflow.providers.openlineage.emission.base import OpenLineageEvent
    from airflow.providers.openlineage.task_runner.attempt_emission import AttemptEmission
    from airflow.providers.openlineage.task_runner.child_context import ChildLineageContext

log = logging.getLogger(__name__)

# At most this many events of one attempt are held (extras waiting for the main thread, and each
# sender's queue): a task running thousands of statements is bounded, START and the terminal event
# are never the ones dropped.
MAX_ATTEMPT_EVENTS = 4096


class AttemptKey(NamedTuple):
    """The full task-instance key of an attempt: what tells one attempt from any other."""

    dag_id: str
    task_id: str
    run_id: str
    map_index: int
    try_number: int

    @classmethod
    def of(cls, dag_id: str, task_id: str, run_id: str, map_index: int | None, try_number: int) -> AttemptKey:
        """The key of an attempt from the task instance's values (read once, by the task runner)."""
        return cls(dag_id, task_id, run_id, -1 if map_index is None else int(map_index), int(try_number))


class AttemptPhase(enum.Enum):
    """Where an attempt's segment in this process is in its life."""

    STARTED = "started"  # first segment: START handed to the sender
    RESUMED = "resumed"  # later segment (after deferral or reschedule): no START of its own
    SUSPENDED = "suspended"  # the runner stops without a terminal state (deferred, rescheduled, ...)
    ENDED = "ended"  # terminal event handed over and the sender closed


def is_resumed_segment(task_instance: Any) -> bool:
    """
    True when this runner continues an attempt an earlier runner began.

    The server hands a deferred task's ``next_method`` back when it resumes it; a reschedule-mode
    sensor's later pokes run with a reschedule count above zero. Either way the attempt's START was
    already sent by the runner that began it.
    """
    server_context = safe_getattr(task_instance, "_ti_context_from_server")
    if safe_getattr(server_context, "next_method"):
        return True
    if safe_getattr(task_instance, "next_method"):  # models without a server context
        return True
    task = safe_getattr(task_instance, "task")
    if not safe_getattr(task, "reschedule", False):
        return False
    try:
        return bool(template_context(task_instance).get("task_reschedule_count", 0))
    except Exception:  # noqa: BLE001 - no context: not a reschedule we can tell
        return False


class TaskAttempt:
    """One segment of one task attempt in this process, and everything it owns."""

    def __init__(
        self,
        key: AttemptKey,
        policy: EmissionPolicy,
        emission: AttemptEmission | None,
        *,
        resumed: bool,
    ) -> None:
        self.key = key
        self.policy = policy
        self.emission = emission
        self.phase = AttemptPhase.RESUMED if resumed else AttemptPhase.STARTED
        self.identity: TaskRunIdentity | None = None
        self.secrets: frozenset[str] | None = None
        self.released = False  # an ended segment's sender let go (its fork child reaped)
        self.child_context: ChildLineageContext | None = None  # removed from os.environ at its end
        self._extra_lock = threading.Lock()
        self._extras: collections.deque[OpenLineageEvent] = collections.deque()
        self._extras_dropped = 0

    @property
    def resumed(self) -> bool:
        return self.phase is AttemptPhase.RESUMED

    @property
    def open(self) -> bool:
        """Between the segment's beginning and its end (terminal event, or the runner stopping)."""
        return self.phase in (AttemptPhase.STARTED, AttemptPhase.RESUMED)

    def accepts_extra_events(self) -> bool:
        return self.emission is not None and self.open

    def hold_extra(self, event: OpenLineageEvent) -> None:
        """Keep an event the task emitted until the main thread hands it over; oldest dropped past the cap."""
        with self._extra_lock:
            if len(self._extras) >= MAX_ATTEMPT_EVENTS:
                self._extras.popleft()
                self._extras_dropped += 1
                metrics.incr("emit.dropped")
                if self._extras_dropped == 1:
                    log.warning("OpenLineage: too many events emitted by the task; dropping the oldest")
            self._extras.append(event)

    def hand_over_extras(self) -> None:
        """On the main thread: the held extras join this segment's sender."""
        with self._extra_lock:
            events, self._extras = self._extras, collections.deque()
        if self.emission is not None:
            for event in events:
                self.emission.submit_extra(event)


__all__ = ["MAX_ATTEMPT_EVENTS", "AttemptKey", "AttemptPhase", "TaskAttempt", "is_resumed_segment"]
