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
deadline. After ``fork()`` every sender in the child starts empty (``os.register_at_fork``): the
parent's thread, locks and queue do not exist there.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

from airflow.providers.openlineage.emission import metrics
from airflow.providers.openlineage.emission.base import Deadline, EmissionMode
from airflow.providers.openlineage.emission.delivery import (
    close_client,
    describe_event,
    drop_one,
    send_event,
)

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 1000
# Waits are sliced so a deadline cut from a signal handler is noticed promptly.
_WAIT_SLICE = 0.05

Payload = Any  # an event, or a callable returning one, built on the sender thread
_CLOSE = object()


class _Item:
    __slots__ = ("essential", "payload")

    def __init__(self, payload: Payload, essential: bool) -> None:
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
    ) -> None:
        self._client_factory = client_factory
        self._name = name
        self._max_queue_size = max(1, max_queue_size)
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
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._closing: Deadline | None = None
        self._closed = threading.Event()
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

    def _drop_one(self) -> None:
        self.dropped = drop_one([self._queue], self.dropped)

    def flush(self, deadline: Deadline) -> bool:
        """Wait, at most until ``deadline``, until nothing is queued or in flight."""
        with self._cond:
            while self._queue or self._in_flight:
                remaining = deadline.remaining()
                if remaining <= 0 or not self.is_alive():
                    return False
                self._cond.wait(min(remaining, _WAIT_SLICE))
        return True

    def close(self, deadline: Deadline) -> bool:
        """
        Send what is queued, then close the client on the sender thread; wait until ``deadline``.

        True when every event was handed over and the client delivered what it buffered.
        """
        self.begin_close(deadline)
        if not self._ensure_thread():
            return False
        while not self._closed.is_set():
            remaining = deadline.remaining()
            if remaining <= 0 or not self.is_alive():
                return self._closed.is_set() and self._close_ok
            self._closed.wait(min(remaining, _WAIT_SLICE))
        return self._close_ok

    def begin_close(self, deadline: Deadline) -> None:
        """Queue the close behind what is pending without waiting (several senders closing together)."""
        with self._cond:
            if self._closing is None:
                self._closing = deadline
                if self._client is None and not self._queue and not self.is_alive():
                    self._close_ok = True  # never sent anything: nothing to deliver
                    self._closed.set()
                    return
                self._queue.append(_Item(_CLOSE, True))
                self._cond.notify_all()
        self._ensure_thread()

    def abandon(self, deadline: Deadline | None = None) -> None:
        """Leave in-flight work to the daemon thread; it dies with the process."""

    @property
    def pending(self) -> int:
        with self._cond:
            return sum(1 for item in self._queue if item.payload is not _CLOSE) + self._in_flight

    def is_alive(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive() and self._pid == os.getpid()

    # -- worker side ---------------------------------------------------------------------------

    def _ensure_thread(self) -> bool:
        with self._cond:
            if self.is_alive() or not self._queue:
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
            return self._queue.popleft()

    def _done(self) -> None:
        with self._cond:
            self._in_flight -= 1
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
                if item.payload is _CLOSE:
                    self._close_client()
                    return
                self._send(item.payload)
            finally:
                self._done()

    def _send(self, payload: Payload) -> None:
        event = payload
        if callable(payload):  # built here, off the caller's thread (see BackgroundEmitter.submit_build)
            try:
                event = payload()
            except Exception as err:  # noqa: BLE001 - one unbuildable event must not stop the worker
                self.failed += 1
                log.warning("OpenLineage event could not be built: %s: %s", type(err).__name__, err)
                return
            if event is None:  # nothing to send (the emission policy turned it off)
                return
        try:
            if self._client is None:
                self._client = self._client_factory()
            send_event(self._client, event)
            self.sent += 1
            log.debug("Sent OpenLineage %s", describe_event(event))
        except Exception as err:  # noqa: BLE001 - the worker must survive any transport error
            self.failed += 1
            log.warning("Failed to send OpenLineage %s: %s", describe_event(event), err)

    def _close_client(self) -> None:
        deadline = self._closing
        try:
            timeout = deadline.remaining() if deadline is not None else 0.0
            self._close_ok = self._client is None or close_client(self._client, timeout)
            self._client = None
        finally:
            self._closed.set()


_live_senders: weakref.WeakSet[ThreadSender] = weakref.WeakSet()


def _reset_after_fork() -> None:
    """In a forked child, every sender starts empty: the parent's thread and locks are not here."""
    for sender in list(_live_senders):
        sender._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


__all__ = ["DEFAULT_QUEUE_SIZE", "ThreadSender"]
