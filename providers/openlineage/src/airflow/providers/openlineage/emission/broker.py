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
Run lineage extraction in a bounded thread whose supervisor requests the main thread performs.

Extraction may read Connections, Variables and XComs, which in a task runner are requests over the
single Task SDK supervisor socket. That socket carries one request and then one answer; it has no
request ids, and Task SDK 1.1 (Airflow 3.1) does not even lock it. An extraction thread abandoned at
the deadline must therefore never own the socket: it could leave an answer unread (so the task's own
next call would read the wrong answer) or interleave frames with the task.

While the main thread waits for extraction it serves as the only user of the socket (a broker):

* :class:`RoutingComms` replaces ``task_runner.SUPERVISOR_COMMS``; calls from any thread not
  registered as a lineage thread go straight to the real channel, exactly as before;
* a registered lineage thread's ``send`` is queued to the main thread, which performs the whole
  exchange (request and answer) and passes the answer back;
* at the deadline the main thread stops serving and returns to the task; a lineage thread's pending
  or later request gets :class:`LineageDeadlineExceeded` instead of touching the socket.

So every exchange lineage makes is complete, made by the task's own thread, in between the task's own
exchanges, on every Task SDK version.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

_T = TypeVar("_T")


class LineageDeadlineExceeded(RuntimeError):
    """A lineage thread asked for the supervisor after its deadline; the request was not sent."""


class _Request:
    __slots__ = ("answer", "done", "error", "message")

    def __init__(self, message: Any) -> None:
        self.message = message
        self.done = threading.Event()
        self.answer: Any = None
        self.error: BaseException | None = None


class _Session:
    """One bounded extraction: its requests queue and whether the main thread still serves it."""

    def __init__(self) -> None:
        self.requests: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self.serving = True
        self.lock = threading.Lock()

    def request(self, message: Any) -> Any:
        pending = _Request(message)
        with self.lock:
            if not self.serving:
                raise LineageDeadlineExceeded("OpenLineage extraction ran past its deadline")
            self.requests.put(pending)
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        return pending.answer

    def stop(self) -> None:
        """Stop serving; fail whatever is still queued without sending it."""
        with self.lock:
            self.serving = False
        while True:
            try:
                pending = self.requests.get_nowait()
            except queue.Empty:
                return
            if pending is not None:
                pending.error = LineageDeadlineExceeded("OpenLineage extraction ran past its deadline")
                pending.done.set()


class RoutingComms:
    """Stands in for ``SUPERVISOR_COMMS``; routes lineage threads' requests through their session."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self._sessions: dict[int, _Session] = {}

    @property
    def real(self) -> Any:
        return self._real

    def send(self, msg: Any) -> Any:
        session = self._sessions.get(threading.get_ident())
        if session is None:
            return self._real.send(msg)
        return session.request(msg)

    async def asend(self, msg: Any) -> Any:
        session = self._sessions.get(threading.get_ident())
        if session is None:
            return await self._real.asend(msg)
        return session.request(msg)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def register(self, thread_id: int, session: _Session) -> None:
        self._sessions[thread_id] = session

    def unregister(self, thread_id: int) -> None:
        self._sessions.pop(thread_id, None)


def install_routing_comms() -> RoutingComms | None:
    """Put a :class:`RoutingComms` in front of the task runner's channel (idempotent)."""
    try:
        from airflow.sdk.execution_time import task_runner
    except ImportError:
        return None
    current = getattr(task_runner, "SUPERVISOR_COMMS", None)
    if current is None:
        return None
    if isinstance(current, RoutingComms):
        return current
    routing = RoutingComms(current)
    task_runner.SUPERVISOR_COMMS = routing
    return routing


class BoundedCall:
    """Outcome of :func:`run_bounded`."""

    def __init__(self) -> None:
        self.finished = False
        self.result: Any = None
        self.error: BaseException | None = None
        self.elapsed = 0.0


def run_bounded(func: Callable[[], _T], timeout: float, *, name: str = "openlineage-extract") -> BoundedCall:
    """
    Run ``func`` in a daemon thread for at most ``timeout`` seconds, serving its supervisor requests.

    Returns once ``func`` finished or the deadline passed; a late thread is abandoned and can no longer
    reach the supervisor. Outside a task runner (no channel) requests simply are not routed.
    """
    outcome = BoundedCall()
    started = time.monotonic()
    deadline = started + max(0.0, timeout)
    session = _Session()
    routing = install_routing_comms()
    finished = threading.Event()

    def target() -> None:
        if routing is not None:
            routing.register(threading.get_ident(), session)
        try:
            outcome.result = func()
        except BaseException as err:  # noqa: BLE001 - handed back to the caller
            outcome.error = err
        finally:
            if routing is not None:
                routing.unregister(threading.get_ident())
            finished.set()
            session.requests.put(None)  # wake the broker

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    while not finished.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            pending = session.requests.get(timeout=remaining)
        except queue.Empty:
            break
        if pending is None:
            continue
        try:
            pending.answer = routing.real.send(pending.message) if routing is not None else None
        except BaseException as err:  # noqa: BLE001 - handed to the lineage thread
            pending.error = err
        finally:
            pending.done.set()
    session.stop()
    outcome.finished = finished.is_set()
    outcome.elapsed = time.monotonic() - started
    return outcome
