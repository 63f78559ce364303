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
How events leave the process, behind one small interface.

Every sender (:class:`~.thread_sender.ThreadSender` for ``execute_in_thread = True`` and inside the
long-lived processes' emitter, :class:`~.fork_sender.ForkSender` for task events by default) has the
same lifecycle, and never talks to the Task SDK supervisor:

* ``submit(event)`` hands over an event and returns at once; queues are bounded. The event is finished
  (redacted) or a callable that finishes it (:func:`finished`), which the sender calls off the
  caller's thread before serialising it;
* ``flush(deadline)`` waits, at most until ``deadline``, for everything submitted to be handed to the
  transport;
* ``close(deadline)`` flushes, then closes the client (a buffering transport such as ``async_http``
  delivers what it holds only then), still within ``deadline``; the sender accepts nothing after it;
* ``abandon(deadline)`` gives up on what is still in flight (a child is terminated and reaped within
  the deadline's reserve; a thread is left to die with the process).

The deadline is passed down, never recomputed: each step asks it what is left.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Protocol, TypeAlias

from openlineage.client.event_v2 import DatasetEvent, JobEvent, RunEvent

OpenLineageEvent: TypeAlias = RunEvent | DatasetEvent | JobEvent
#: What a sender is handed: a finished event, or a callable that finishes one (redaction deferred to
#: the sender, e.g. :class:`~airflow.providers.openlineage.redact.redaction.DeferredRedaction`); a
#: callable may return None when, once built, there is nothing to send.
Payload: TypeAlias = OpenLineageEvent | Callable[[], OpenLineageEvent | None]


def finished(payload: Payload) -> OpenLineageEvent | None:
    """
    The event a submitted payload stands for: a deferred one (a callable, e.g.
    :class:`~airflow.providers.openlineage.redact.redaction.DeferredRedaction`) is finished here, by the
    sender, just before it is serialised. Raises what finishing it raised.
    """
    return payload() if callable(payload) else payload


class EmissionMode(enum.Enum):
    """Where a task's events are sent from."""

    FORK = "fork"
    THREAD = "thread"

    @property
    def description(self) -> str:
        return "a forked child process" if self is EmissionMode.FORK else "a daemon thread"


class Deadline(Protocol):
    """What a sender needs of a deadline (``emission.deadline``)."""

    def remaining(self, reserve: float = 0.0) -> float: ...

    @property
    def expired(self) -> bool: ...


class EventSender(Protocol):
    """Sends finished events; never blocks its caller past the deadline it is given."""

    mode: EmissionMode
    sent: int  # delivered to the transport
    failed: int  # the transport raised, or a child could not be forked
    dropped: int  # pushed out of a full queue (and not spooled)

    @property
    def spooled(self) -> int:
        """Kept in the spool for later delivery (``[openlineage] spool_dir``)."""
        ...

    def submit(self, event: Payload, *, essential: bool = True) -> bool: ...

    def flush(self, deadline: Deadline) -> bool: ...

    def close(self, deadline: Deadline) -> bool: ...

    def abandon(self, deadline: Deadline) -> None: ...

    @property
    def pending(self) -> int: ...


__all__ = ["Deadline", "EmissionMode", "EventSender", "OpenLineageEvent", "Payload", "finished"]
