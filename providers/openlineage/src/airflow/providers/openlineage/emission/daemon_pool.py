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
A small executor of daemon threads, for work other code hands the listener (``submit_callable``).

2.20.3 ran such work in a process pool. Forking from a long-lived, multi-threaded process is what
this provider avoids, and ``ThreadPoolExecutor`` joins its threads at interpreter exit, so one hung
call would hold up the scheduler's shutdown. Daemon threads do neither; what is still queued at
exit is dropped. Nothing here grows or waits without a bound: at most ``max_queued`` calls wait (a
call beyond that fails its future at once, one WARNING per pool), and ``shutdown(wait=True)`` waits
at most ``timeout`` seconds for the calls still running.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

log = logging.getLogger(__name__)

_STOP = object()
DEFAULT_MAX_QUEUED = 1000
DEFAULT_SHUTDOWN_TIMEOUT = 5.0


class DaemonThreadPool(Executor):
    """``concurrent.futures.Executor`` over ``workers`` daemon threads, started on first use."""

    def __init__(
        self, workers: int, name: str = "openlineage-pool", *, max_queued: int = DEFAULT_MAX_QUEUED
    ) -> None:
        self._workers = max(1, workers)
        self._name = name
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, max_queued))
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._shut_down = False
        self._warned_full = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        with self._lock:
            if self._shut_down:
                raise RuntimeError("cannot schedule new futures after shutdown")
            try:
                self._queue.put_nowait((future, fn, args, kwargs))
            except queue.Full:
                self._refuse(future)
                return future
            if len(self._threads) < self._workers:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                thread.start()
                self._threads.append(thread)
        return future

    def _refuse(self, future: Future) -> None:
        if not self._warned_full:
            self._warned_full = True
            log.warning(
                "OpenLineage %s queue is full (%d calls wait behind a slow one); "
                "further calls fail until it drains (without another line)",
                self._name,
                self._queue.maxsize,
            )
        future.set_exception(RuntimeError(f"OpenLineage {self._name} queue is full"))

    def _work(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            future, fn, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as err:  # noqa: BLE001 - handed to the future's owner
                future.set_exception(err)

    def shutdown(
        self, wait: bool = True, *, cancel_futures: bool = False, timeout: float = DEFAULT_SHUTDOWN_TIMEOUT
    ) -> None:
        """Stop the workers; with ``wait`` give running calls at most ``timeout`` seconds in all."""
        with self._lock:
            self._shut_down = True
            threads = list(self._threads)
        if cancel_futures:
            self._cancel_queued()
        for _ in threads:
            self._put_stop()
        if wait:
            end = time.monotonic() + max(0.0, timeout)
            for thread in threads:
                thread.join(max(0.0, end - time.monotonic()))

    def _cancel_queued(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not _STOP:
                item[0].cancel()

    def _put_stop(self) -> None:
        """A stop marker for one worker; a full queue loses its oldest call to make room (shutting down)."""
        while True:
            try:
                self._queue.put_nowait(_STOP)
                return
            except queue.Full:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    continue
                if item is not _STOP:
                    item[0].cancel()
