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
"""Events for a running sender child, redacted and pickled off the task's thread, in order."""

from __future__ import annotations

import collections
import contextlib
import os
import pickle
import threading
from collections.abc import Iterator

from airflow.providers.openlineage.emission.base import Deadline, finished
from airflow.providers.openlineage.emission.fork_protocol import (
    BUSY,
    FRAME_HEADER,
    NEW,
    READY,
    UNPICKLABLE,
    UNREDACTABLE,
    Pending,
)


class Preparer:
    """
    Finishes (redacts) and pickles, in submission order, the events meant for the running child.

    A daemon thread does it, so the task's thread never waits on a masker or on pickling a large
    event: ``submit`` only queues, and the terminal phase waits for the preparer within its deadline
    like it waits for the child. A child forked earlier holds an older copy of the masker, so an event
    fed through the pipe is finished here, in the runner, never in that child. Each prepared event
    writes one byte to a wake pipe the parent's wait selects on.
    """

    def __init__(self) -> None:
        self.items: collections.deque[Pending] = collections.deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.wake_fd: int | None = None
        self._wake_write: int | None = None
        self._deadline: Deadline | None = None  # once flushing: nothing is prepared after it passed
        self._halted = False  # the sender gave up (its flush ran out of time): prepare nothing more

    def add(self, item: Pending) -> None:
        with self._cond:
            self.items.append(item)
            self._cond.notify()
        self._ensure_thread()

    def take_prepared(self) -> list[Pending]:
        """The prepared items at the head, in order (none past one still being prepared)."""
        self._drain_wake()
        taken = []
        with self._cond:
            while self.items and self.items[0].state not in (NEW, BUSY):
                taken.append(self.items.popleft())
        return taken

    def take_all(self) -> list[Pending]:
        """Every item not taken yet, prepared or not (for the next child, or the spool)."""
        with self._cond:
            left = list(self.items)
            self.items.clear()
        return left

    def __len__(self) -> int:
        return len(self.items)

    @contextlib.contextmanager
    def held(self) -> Iterator[tuple[collections.deque[Pending], tuple[Pending, ...]]]:
        """The items, locked against the thread, and those it is preparing now (not to be dropped)."""
        with self._cond:
            yield self.items, tuple(item for item in self.items if item.state == BUSY)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        self._pid = os.getpid()
        if self.wake_fd is None:
            self.wake_fd, self._wake_write = os.pipe()
            os.set_blocking(self.wake_fd, False)
            os.set_blocking(self._wake_write, False)
        self._thread = threading.Thread(target=self._run, name="openlineage-fork-preparer", daemon=True)
        self._thread.start()

    def bound(self, deadline: Deadline) -> None:
        """From now on prepare only while ``deadline`` lasts."""
        with self._cond:
            self._deadline, self._halted = deadline, False
            self._cond.notify()

    def halt(self) -> None:
        """The sender gave up at its deadline: leave what is not prepared yet as it is."""
        with self._cond:
            self._halted = True

    def _may_prepare(self) -> bool:
        return not self._halted and (self._deadline is None or not self._deadline.expired)

    def _next(self) -> Pending | None:
        with self._cond:
            while True:
                if self._wake_write is None:  # closed: the thread ends
                    return None
                if self._may_prepare():
                    for item in self.items:
                        if item.state == NEW:
                            item.state = BUSY
                            return item
                self._cond.wait()

    def _run(self) -> None:
        while True:
            item = self._next()
            if item is None:
                return
            try:
                event = finished(item.event)
            except Exception as err:  # noqa: BLE001 - an event that cannot be redacted is never sent
                item.error, item.state = f"{type(err).__name__}: {err}", UNREDACTABLE
            else:
                try:
                    payload = pickle.dumps(event, protocol=pickle.HIGHEST_PROTOCOL)
                except Exception:  # noqa: BLE001 - e.g. a facet class defined in a function: send it by fork
                    item.event, item.state = event, UNPICKLABLE
                else:
                    item.event = event
                    item.frame = FRAME_HEADER.pack(len(payload)) + payload
                    item.state = READY
            self._wake()

    def _wake(self) -> None:
        with self._cond:  # never a descriptor number close() has given back (it may be reused)
            if self._wake_write is not None:
                try:
                    os.write(self._wake_write, b".")
                except OSError:  # full: the parent is woken already
                    pass

    def _drain_wake(self) -> None:
        if self.wake_fd is None:
            return
        try:
            while os.read(self.wake_fd, 4096):
                pass
        except OSError:
            pass

    def close(self) -> None:
        """Close the wake pipe (the thread, if still busy with a masker, dies with the process)."""
        with self._cond:
            self._halted = True
            for fd in (self.wake_fd, self._wake_write):
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            self.wake_fd = self._wake_write = None
            self._cond.notify()


__all__ = ["Preparer"]
