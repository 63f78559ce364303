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
A daemon thread that sends events in submission order through one reused client.

Submitting never blocks: events go into a bounded queue; when it is full an extra event (a child
query event, a public-API event) is dropped first, the oldest of them, and only then the oldest of
all, so a backlog of extras never pushes out START or the terminal event. Drops are counted.

The thread builds its client from an already resolved configuration, so it never needs a Connection
and never touches the Task SDK supervisor channel. A failed send is one WARNING line and the thread goes
on. ``close(deadline)`` has the thread itself close the client after the last event (the client's
``close`` may block, e.g. ``async_http`` joins its worker), and the caller waits only until the
deadline. With a spool (``emission.spooling``) an event the transport rejected, one pushed out of a
full queue, and what ``abandon`` finds unsent are written to disk instead of being lost; a task's
sender then also replays a few spooled events after its own, within its deadline. After ``fork()``
every sender in the child starts empty (``os.register_at_fork``): the parent's thread, locks and
queue do not exist there.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from airflow.providers.openlineage.emission import metrics
from airflow.providers.openlineage.emission.base import Deadline, EmissionMode, OpenLineageEvent, Payload
from airflow.providers.openlineage.emission.delivery import close_client, describe_event, drop_one
from airflow.providers.openlineage.emission.replay import TASK_REPLAY_BUDGET_SECONDS
from airflow.providers.openlineage.emission.spooling import SENT, Spooling
from airflow.providers.openlineage.emission.switch_interval import short_switch_interval

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 1000
# Waits are sliced so a deadline cut from a signal handler is noticed promptly.
_WAIT_SLICE = 0.05


class _Close:
    """The marker queued behind the last event: the sender thread closes its client there."""


_CLOSE = _Close()


class _Item:
    __slots__ = ("essential", "payload")

    def __init__(self, payload: Payload | _Close, essential: bool) -> None:
        self.payload = payload
        self.essential = essential


class ThreadSender:
    """One daemon thread sending submitted events in submission order."""

    mode = EmissionMode.THREAD

    def __init__(
        self,
        client_factory: Callable[[], Any],
        *,
        name: str = "openlineage-sender",
        max_queue_size: int = DEFAULT_QUEUE_SIZE,
        spooling: Spooling | None = None,
        replay_on_close: bool = False,
    ) -> None:
        self._client_factory = client_factory
        self._name = name
        self._max_queue_size = max(1, max_queue_size)
        self.spooling = spooling or Spooling(None)
        self._replay_on_close = replay_on_close
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._reset()
        _live_senders.add(self)

    def _reset(self) -> None:
        """Fresh state: at construction, and in a forked child."""
        self._client: Any = None
        self._queue: collections.deque[_Item] = collections.deque()
        self._cond = threading.Condition()
        self._in_flight = 0
        self._current: _Item | None = None
        self._abandoned = False
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._closing: Deadline | None = None
        self._closed = threading.Event()
        self._own_closed = threading.Event()  # the client closed; a backlog replay may still run
        self._close_ok = False

    # -- producer side -------------------------------------------------------------------------

    def submit(self, event: Payload, *, essential: bool = True) -> bool:
        """Queue an event; False when the sender is closing or cannot run a thread."""
        with self._cond:
            if self._closing is not None:
                return False
            if len(self._queue) >= self._max_queue_size:
                self._drop_one()
            self._queue.append(_Item(event, essential))
            self._cond.notify_all()
        return self._ensure_thread()

    @property
    def spooled(self) -> int:
        return self.spooling.spooled

    def _drop_one(self) -> None:
        keep = self._keep_dropped if self.spooling.enabled else None
        self.dropped = drop_one([self._queue], self.dropped, keep=keep)

    def _keep_dropped(self, item: _Item) -> bool:
        if isinstance(item.payload, _Close):
            return False
        event = _built(item.payload)
        return event is not None and self.spooling.keep(event, "the send queue was full")

    def flush(self, deadline: Deadline) -> bool:
        """Wait, at most until ``deadline``, until nothing is queued or in flight."""
        with self._cond:
            while self._queue or self._in_flight:
                remaining = deadline.remaining(self.spooling.reserve)
                if remaining <= 0 or not self.is_alive():
                    return False
                self._cond.wait(min(remaining, _WAIT_SLICE))
        return True

    def close(self, deadline: Deadline) -> bool:
        """
        Send what is queued, then close the client on the sender thread; wait until ``deadline``.

        True when every event was handed over and the client delivered what it buffered. A backlog
        replay after them holds the caller for at most ``TASK_REPLAY_BUDGET_SECONDS`` (it goes on, on
        the daemon thread, and does not count against the result). With a spool, the end of the
        deadline is kept free for :meth:`abandon` to write what is unsent.
        """
        self.begin_close(deadline)
        if not self._ensure_thread():
            return False
        replay_ends: float | None = None  # once our own events are closed: the backlog's hard share
        while not self._closed.is_set():
            remaining = deadline.remaining(self.spooling.reserve)
            if self._own_closed.is_set():
                if replay_ends is None:
                    replay_ends = time.monotonic() + TASK_REPLAY_BUDGET_SECONDS
                remaining = min(remaining, replay_ends - time.monotonic())
            if remaining <= 0 or not self.is_alive():
                break
            self._closed.wait(min(remaining, _WAIT_SLICE))
        return self._own_closed.is_set() and self._close_ok

    def begin_close(self, deadline: Deadline) -> None:
        """Queue the close behind what is pending without waiting (several senders closing together)."""
        with self._cond:
            if self._closing is None:
                self._closing = deadline
                if self._client is None and not self._queue and not self.is_alive():
                    self._close_ok = True  # never sent anything: nothing to deliver
                    self._own_closed.set()
                    self._closed.set()
                    return
                self._queue.append(_Item(_CLOSE, True))
                self._cond.notify_all()
        self._ensure_thread()

    def abandon(self, deadline: Deadline | None = None) -> None:
        """
        Give up on what is unsent: spooled within ``deadline`` when there is a spool, else left to the
        daemon thread, which dies with the process.
        """
        if not self.spooling.enabled or deadline is None:
            return
        with self._cond:
            if self._own_closed.is_set():
                return
            self._abandoned = True
            items = [item for item in (self._current, *self._queue) if item is not None]
            self._queue = collections.deque(item for item in self._queue if item.payload is _CLOSE)
        # Payloads still to be redacted are redacted by keep_all, and only while the deadline lasts.
        unsent = [(item.payload, item.essential) for item in items if not isinstance(item.payload, _Close)]
        self.spooling.keep_all(unsent, "the deadline passed before it was sent", deadline)

    @property
    def pending(self) -> int:
        with self._cond:
            return sum(1 for item in self._queue if item.payload is not _CLOSE) + self._in_flight

    def is_alive(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive() and self._pid == os.getpid()

    def start(self) -> bool:
        """
        Start the thread now, before the first event, so that submitting never waits for it to start.

        A thread started by ``submit`` goes straight to work holding the GIL, and the submitting thread,
        woken by the start, waits for it up to the interpreter's switch interval (5 ms). Started ahead,
        the idle thread is only notified.
        """
        return self._ensure_thread(idle=True)

    # -- worker side ---------------------------------------------------------------------------

    def _ensure_thread(self, idle: bool = False) -> bool:
        with self._cond:
            if self.is_alive() or not (self._queue or idle):
                return True
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            try:
                self._thread.start()
            except RuntimeError:  # interpreter shutting down
                log.warning(
                    "OpenLineage sender thread could not start; %d event(s) not sent", len(self._queue)
                )
                self._queue.clear()
                self._thread = None
                return False
        return True

    def _next_item(self) -> _Item:
        with self._cond:
            while not self._queue:
                self._cond.wait()
            self._in_flight += 1
            self._current = self._queue.popleft()
            return self._current

    def _done(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self._current = None
            self._cond.notify_all()

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as err:  # noqa: BLE001 - a dying worker is replaced, never silent
            metrics.incr("emit.worker_replaced")
            log.warning(
                "OpenLineage sender thread %s died (%s: %s); starting a replacement",
                self._name,
                type(err).__name__,
                err,
            )
            with self._cond:
                self._thread = None
                self._in_flight = 0
            self._ensure_thread()

    def _loop(self) -> None:
        while True:
            item = self._next_item()
            try:
                if isinstance(item.payload, _Close):
                    self._close_client()
                    return
                with short_switch_interval():
                    self._send(item.payload)
            finally:
                self._done()

    def _send(self, payload: Payload) -> None:
        event: OpenLineageEvent | None
        if callable(payload):  # built here, off the caller's thread (see BackgroundEmitter.submit_build)
            try:
                event = payload()
            except Exception as err:  # noqa: BLE001 - one unbuildable event must not stop the worker
                self.failed += 1
                log.warning("OpenLineage event could not be built: %s: %s", type(err).__name__, err)
                return
            if event is None:  # nothing to send (the emission policy turned it off)
                return
        else:
            event = payload
        try:
            if self._client is None:
                self._client = self._client_factory()
            spooling = self.spooling if not self._abandoned else Spooling(None)  # abandon kept it already
            if spooling.deliver(self._client, event) == SENT:
                self.sent += 1
                log.debug("Sent OpenLineage %s", describe_event(event))
            else:
                log.info("OpenLineage %s was spooled for later delivery", describe_event(event))
        except Exception as err:  # noqa: BLE001 - the worker must survive any transport error
            self.failed += 1
            log.warning("Failed to send OpenLineage %s: %s", describe_event(event), err)

    def _close_client(self) -> None:
        deadline = self._closing
        try:
            timeout = deadline.remaining(self.spooling.reserve) if deadline is not None else 0.0
            self._close_ok = self._client is None or close_client(self._client, timeout)
            self._client = None
            self._own_closed.set()
            if self._replay_on_close and self._close_ok and deadline is not None:
                self.spooling.replay_backlog(self._client_factory, _Reserved(deadline, self.spooling.reserve))
        finally:
            self._closed.set()


class _Reserved:
    """``deadline`` less a fixed reserve at its end."""

    def __init__(self, deadline: Deadline, reserve: float) -> None:
        self._deadline = deadline
        self._reserve = reserve

    def remaining(self, reserve: float = 0.0) -> float:
        return self._deadline.remaining(self._reserve + reserve)

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0


def _built(payload: Payload) -> Any:
    """The event a queued payload stands for (a deferred build is run here), or None."""
    if not callable(payload):
        return payload
    try:
        return payload()
    except Exception:  # noqa: BLE001 - an event that cannot be built cannot be kept either
        return None


_live_senders: weakref.WeakSet[ThreadSender] = weakref.WeakSet()


def _reset_after_fork() -> None:
    """In a forked child, every sender starts empty: the parent's thread and locks are not here."""
    for sender in list(_live_senders):
        sender._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


__all__ = ["DEFAULT_QUEUE_SIZE", "ThreadSender"]
