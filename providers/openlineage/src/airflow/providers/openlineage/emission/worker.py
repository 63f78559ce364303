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
A daemon thread that sends events in order, one client per thread.

Submitting never blocks: events go into a bounded deque and, when it is full, the oldest event is
dropped and counted (a lineage backend that is down must not grow memory without bound). The thread
builds its OpenLineage client from an already resolved configuration dict, so it never needs a
Connection or anything else from Airflow, and never touches the Task SDK supervisor channel. A failure
to send is logged as one WARNING line and the thread goes on with the next event.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from airflow.providers.openlineage.emission import metrics

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 1000


def describe_event(event: Any) -> str:
    """Short identification of an event for log lines (never its payload)."""
    event_type = getattr(getattr(event, "eventType", None), "value", "?")
    job = getattr(getattr(event, "job", None), "name", "?")
    run_id = getattr(getattr(event, "run", None), "runId", "?")
    return f"{event_type} event of job `{job}` (run {run_id})"


def send_event(client: Any, event: Any) -> None:
    """Send one event through the client, recording duration and outcome metrics."""
    started = time.monotonic()
    try:
        client.emit(event)
    except Exception:
        metrics.incr("emit.failed")
        raise
    finally:
        metrics.timing("emit.duration", time.monotonic() - started)
    metrics.incr("emit.success")


class ThreadSender:
    """One daemon thread sending submitted events in submission order."""

    mode = "thread"

    def __init__(
        self,
        client_factory: Callable[[], Any],
        *,
        name: str = "openlineage-sender",
        max_queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        self._client_factory = client_factory
        self._client: Any = None
        self._name = name
        self._queue: collections.deque[Any] = collections.deque(maxlen=max_queue_size)
        self._cond = threading.Condition()
        self._in_flight = 0
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._closed = False
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    # -- producer side -------------------------------------------------------------------------

    def submit(self, event: Any) -> bool:
        """Queue an event; False when the sender is closed or cannot run a thread."""
        with self._cond:
            if self._closed:
                return False
            if len(self._queue) == self._queue.maxlen:
                self.dropped += 1
                metrics.incr("emit.dropped")
                log.warning(
                    "OpenLineage send queue is full; dropped the oldest event (%d so far)", self.dropped
                )
            self._queue.append(event)
            self._cond.notify_all()
        return self._ensure_thread()

    def wait(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds until nothing is queued or in flight."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.is_alive():
                    return False
                self._cond.wait(remaining)
        return True

    def abandon(self) -> None:
        """Leave in-flight work to the daemon thread; it dies with the process."""

    def close(self) -> None:
        """Reject new events; the thread ends once the queue is empty."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._in_flight

    def is_alive(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive() and self._pid == os.getpid()

    # -- worker side ---------------------------------------------------------------------------

    def _ensure_thread(self) -> bool:
        with self._cond:
            if self.is_alive():
                return True
            if self._pid != os.getpid():  # forked: the parent's thread does not exist here
                self._client = None
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            try:
                self._thread.start()
            except RuntimeError:  # interpreter shutting down
                log.warning(
                    "OpenLineage sender thread could not start; %d event(s) not sent", len(self._queue)
                )
                self._queue.clear()
                return False
        return True

    def _next_event(self) -> Any:
        with self._cond:
            while not self._queue:
                if self._closed:
                    return None
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
            self._ensure_thread()

    def _loop(self) -> None:
        while True:
            event = self._next_event()
            if event is None:
                return
            try:
                if callable(event):  # built here, off the caller's thread (see BackgroundEmitter.submit)
                    event = event()
                if self._client is None:
                    self._client = self._client_factory()
                send_event(self._client, event)
                self.sent += 1
                log.debug("Sent OpenLineage %s", describe_event(event))
            except Exception as err:  # noqa: BLE001 - the worker must survive any transport error
                self.failed += 1
                log.warning("Failed to send OpenLineage %s: %s", describe_event(event), err)
            finally:
                self._done()
