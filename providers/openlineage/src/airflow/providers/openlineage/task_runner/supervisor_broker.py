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
How lineage extraction talks to the Task SDK supervisor: only through the task's main thread.

Extraction may read Connections, Variables and XComs, which in a task runner are requests over the
single supervisor socket. That socket carries one request, then its answer; it has no request ids, and
Task SDK 1.1 (Airflow 3.1) does not even lock it. Extraction that is abandoned at its deadline must
therefore never own the socket: it could leave an answer unread (the task's own next call would read
the wrong answer) or interleave frames with the task.

:func:`run_bounded` runs extraction in a daemon thread while the main thread serves as the only user of
the socket (a broker):

* :class:`RoutingComms` stands in for ``task_runner.SUPERVISOR_COMMS`` from the first task hook on. The
  main thread's calls go straight to the real channel, as before.
* While a bounded extraction runs, the main thread is blocked in the broker, so every request from any
  other thread is queued to it and performed there, whole (request and answer): the extraction thread's,
  those of threads it starts, and those of the task's own background threads.
* A thread belongs to lineage when a lineage thread started it: ownership is inherited at
  ``Thread.start`` (the extraction thread is lineage's from the outset), never guessed from when a
  thread was born, so a thread the task starts from one of its own threads while an extraction runs
  stays the task's. Ownership is kept on the thread object itself and goes with it. When the deadline
  passes the broker stops serving; from then on a lineage thread's pending or later request raises
  :class:`LineageDeadlineExceeded` instead of touching the socket, and one INFO line says so, even for
  a thread an abandoned lineage thread starts late. The task's threads get their queued request
  performed and then use the real channel directly again.
* ``RoutingComms`` also notes when the task reports its final state (``SucceedTask``, ``TaskState``,
  ``RetryTask``): the supervisor's ``task_success_overtime`` clock starts then, and the terminal
  deadline is anchored to it.

The one process-wide change: ``threading.Thread.start`` is wrapped (once, while the routing channel is
installed) to pass a starting lineage thread's ownership on; for every other thread it only reads one
attribute. Threads started through ``_thread`` directly, not ``threading.Thread``, count as the task's.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

log = logging.getLogger(__name__)

_T = TypeVar("_T")

TERMINAL_STATE_MESSAGES = frozenset({"SucceedTask", "TaskState", "RetryTask"})


class Deadline(Protocol):
    def remaining(self, reserve: float = 0.0) -> float: ...


class LineageDeadlineExceeded(SystemExit):
    """
    A lineage thread asked for the supervisor after its deadline; the request was not sent.

    Not an ``Exception`` on purpose: the Task SDK's ``Variable.get`` and ``get_connection`` catch
    ``Exception`` from their backends and would report the refusal as "not found" (with a traceback),
    and an extractor's own ``except Exception`` could keep a loop going. A ``SystemExit`` so that a
    thread an extractor started, which does not expect it, simply ends (a ``threading.excepthook``
    keeps it from printing a traceback). It is only ever raised in lineage's threads, never in the
    task's.
    """


class _Request:
    __slots__ = ("answer", "done", "error", "from_lineage", "message")

    def __init__(self, message: Any, from_lineage: bool) -> None:
        self.message = message
        self.from_lineage = from_lineage
        self.done = threading.Event()
        self.answer: Any = None
        self.error: BaseException | None = None


class _Session:
    """One bounded extraction: its request queue, whether it is still served, the threads it owns."""

    def __init__(self, name: str, real: Any) -> None:
        self.name = name
        self.real = real
        self.requests: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self.serving = True
        self.lock = threading.Lock()
        self.refusals = 0

    def refuse(self, message: Any) -> LineageDeadlineExceeded:
        with self.lock:
            self.refusals += 1
            first = self.refusals == 1
        if first:
            log.info(
                "OpenLineage %s ran past its deadline; its supervisor request `%s` was refused, not sent",
                self.name,
                type(message).__name__,
            )
        return LineageDeadlineExceeded(f"OpenLineage {self.name} ran past its deadline")

    def request(self, message: Any, from_lineage: bool) -> Any:
        pending = _Request(message, from_lineage)
        with self.lock:
            serving = self.serving
            if serving:
                self.requests.put(pending)
        if not serving:
            if from_lineage:
                raise self.refuse(message)
            return self.real.send(message)  # the task's own thread, after the session: as without us
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        return pending.answer


def _perform(real: Any, pending: _Request) -> None:
    """One whole exchange on the real channel, made by the calling (main) thread."""
    try:
        pending.answer = real.send(pending.message)
    except Exception as err:  # noqa: BLE001 - the requester gets the channel's error, as it would directly
        pending.error = err
    except BaseException:  # an interrupt of the main thread is the task's, not lineage's: it propagates
        pending.error = LineageDeadlineExceeded("the task runner was interrupted")
        raise
    finally:
        pending.done.set()


_OWNER = "_openlineage_broker_session"


def _owner_of(thread: threading.Thread) -> _Session | None:
    """The bounded extraction that owns ``thread`` (inherited from the thread that started it)."""
    return getattr(thread, _OWNER, None)


def _mark(thread: threading.Thread, session: _Session) -> None:
    setattr(thread, _OWNER, session)


_original_start: Callable[[threading.Thread], None] | None = None


def _inheriting_start(self: threading.Thread) -> None:
    """``Thread.start`` that passes a lineage thread's ownership on to the thread it starts."""
    owner = _owner_of(threading.current_thread())
    if owner is not None and _owner_of(self) is None:
        _mark(self, owner)
    assert _original_start is not None
    _original_start(self)


def _install_inheriting_start() -> None:
    global _original_start
    if _original_start is None:
        _original_start = threading.Thread.start
        threading.Thread.start = _inheriting_start  # type: ignore[method-assign]


class RoutingComms:
    """Stands in for ``SUPERVISOR_COMMS``: lineage threads reach the socket only through the broker."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self._main_ident = threading.main_thread().ident
        self._active: _Session | None = None
        self.state_reported_at: float | None = None

    @property
    def real(self) -> Any:
        return self._real

    def _route(self) -> tuple[_Session | None, bool]:
        """The session serving the calling thread (None: the real channel), and whether it is lineage's."""
        current = threading.current_thread()
        if current.ident == self._main_ident:
            return None, False
        owner = _owner_of(current)
        if owner is not None:
            return owner, True
        return self._active, False

    def _note(self, msg: Any) -> None:
        if type(msg).__name__ in TERMINAL_STATE_MESSAGES:
            self.state_reported_at = time.monotonic()

    def send(self, msg: Any) -> Any:
        session, from_lineage = self._route()
        if session is None:
            self._note(msg)
            return self._real.send(msg)
        return session.request(msg, from_lineage)

    async def asend(self, msg: Any) -> Any:
        session, from_lineage = self._route()
        if session is None:
            self._note(msg)
            return await self._real.asend(msg)
        return session.request(msg, from_lineage)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def activate(self, session: _Session) -> None:
        self._active = session

    def deactivate(self, session: _Session) -> None:
        """Stop serving ``session`` and settle what is still queued."""
        with session.lock:
            session.serving = False
        if self._active is session:
            self._active = None
        while True:
            try:
                pending = session.requests.get_nowait()
            except queue.Empty:
                return
            if pending is None:
                continue
            if pending.from_lineage:
                pending.error = session.refuse(pending.message)
                pending.done.set()
            else:  # the task's own thread: its request is performed, not refused
                _perform(self._real, pending)


def _quiet_refusals() -> None:
    """
    A thread ended by a refusal ends without a traceback (once per process).

    Python only keeps quiet about an uncaught ``SystemExit`` itself, not a subclass; every other
    uncaught exception still goes to the hook that was there before.
    """
    previous = threading.excepthook
    if getattr(previous, "_openlineage_quiet", False):
        return

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is not None and issubclass(args.exc_type, LineageDeadlineExceeded):
            return
        previous(args)

    hook._openlineage_quiet = True  # type: ignore[attr-defined]
    threading.excepthook = hook


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
    _quiet_refusals()
    _install_inheriting_start()
    routing = RoutingComms(current)
    task_runner.SUPERVISOR_COMMS = routing  # type: ignore[assignment]  # stands in for the channel
    return routing


def state_reported_at() -> float | None:
    """When the task reported its final state to the supervisor (monotonic), if it was seen."""
    try:
        from airflow.sdk.execution_time import task_runner
    except ImportError:
        return None
    current = getattr(task_runner, "SUPERVISOR_COMMS", None)
    return current.state_reported_at if isinstance(current, RoutingComms) else None


class BoundedCall(Generic[_T]):
    """Outcome of :func:`run_bounded`."""

    def __init__(self) -> None:
        self.finished = False
        self.result: _T | None = None
        self.error: BaseException | None = None
        self.elapsed = 0.0


def run_bounded(func: Callable[[], _T], deadline: Deadline, *, name: str = "extraction") -> BoundedCall[_T]:
    """
    Run ``func`` in a daemon thread until it returns or ``deadline`` passes, serving its supervisor requests.

    Returns as soon as ``func`` finished or the deadline passed; a late thread is abandoned and can no
    longer reach the supervisor. Outside a task runner (no channel) there is nothing to route.
    """
    outcome: BoundedCall[_T] = BoundedCall()
    started = time.monotonic()
    routing = install_routing_comms()
    session = _Session(name, routing.real if routing is not None else _NoChannel())
    finished = threading.Event()

    def target() -> None:
        try:
            outcome.result = func()
        except BaseException as err:  # noqa: BLE001 - handed back to the caller, never raised in a thread
            outcome.error = err
        finally:
            finished.set()
            session.requests.put(None)  # wake the broker

    thread = threading.Thread(target=target, name=f"openlineage-{name.replace(' ', '-')}", daemon=True)
    _mark(thread, session)
    if routing is not None:
        routing.activate(session)
    try:
        thread.start()
        while not finished.is_set():
            remaining = deadline.remaining()
            if remaining <= 0:
                break
            try:
                pending = session.requests.get(timeout=remaining)
            except queue.Empty:
                break
            if pending is not None:
                _perform(session.real, pending)
    finally:
        if routing is not None:
            routing.deactivate(session)
        else:
            with session.lock:
                session.serving = False
    outcome.finished = finished.is_set()
    outcome.elapsed = time.monotonic() - started
    return outcome


class _NoChannel:
    """Outside a task runner nobody routes requests here; answer nothing if somebody does."""

    def send(self, msg: Any) -> None:
        return None


__all__ = [
    "BoundedCall",
    "LineageDeadlineExceeded",
    "RoutingComms",
    "install_routing_comms",
    "run_bounded",
    "state_reported_at",
]
