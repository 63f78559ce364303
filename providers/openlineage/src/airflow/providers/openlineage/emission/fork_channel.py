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
"""The task runner's end of one sender child: its pipes, the frames not yet written, what it reported."""

from __future__ import annotations

import collections
import os
import select
import time
from typing import Any

from airflow.providers.openlineage.emission.delivery import describe_event
from airflow.providers.openlineage.emission.fork_protocol import (
    DELIVERED,
    END_FRAME,
    MARKERS,
    SPOOLED,
    WORK_DONE,
    Pending,
)
from airflow.providers.openlineage.emission.reaping import POLL_FLOOR, open_pidfd


class ChildChannel:
    """A running child: its pid, its status pipe, its event feed and the frames still to write."""

    def __init__(self, pid: int, status_fd: int, feed_fd: int, events: list[Pending]) -> None:
        self.pid = pid
        self.status_fd = status_fd
        self.feed_fd: int | None = feed_fd
        os.set_blocking(feed_fd, False)
        self.exit_fd = open_pidfd(pid)
        self.given: list[Pending] = list(events)  # in order: the initial batch, then each frame written
        self.unwritten: collections.deque[Pending] = collections.deque()
        self._offset = 0  # bytes of unwritten[0] already written
        self.ending = False  # the end frame is queued: nothing more may be fed
        self._status = b""
        self._status_eof = False
        self._fds_closed = False
        self.description = describe_event(events[-1].event) if len(events) == 1 else f"{len(events)} events"

    def feed(self, item: Pending) -> bool:
        """Queue ``item``'s prepared frame for the child; False when the child is ending."""
        if self.ending or self.feed_fd is None:
            return False
        self.unwritten.append(item)
        self.pump()
        return True

    def end(self) -> None:
        """No more events: the child sends what it has and exits after the end frame."""
        if not self.ending:
            self.ending = True
            end = Pending(None, essential=True)
            end.frame = END_FRAME
            self.unwritten.append(end)
        self.pump()

    def pump(self) -> None:
        """Write what the pipe takes now, never blocking; the feed closes after the end frame."""
        while self.unwritten and self.feed_fd is not None:
            head = self.unwritten[0]
            try:
                written = os.write(self.feed_fd, head.frame[self._offset :])
            except BlockingIOError:
                return
            except OSError:  # the child is gone; what it did not get goes to the next child
                self._close_feed()
                return
            self._offset += written
            if self._offset < len(head.frame):
                return
            self.unwritten.popleft()
            self._offset = 0
            if head.event is not None:
                self.given.append(head)
            elif self.ending:
                self._close_feed()

    def take_unsent(self) -> list[Pending]:
        """Events never (fully) handed to the child, for the next one."""
        left = [item for item in self.unwritten if item.event is not None]
        self.unwritten.clear()
        self._offset = 0
        return left

    @property
    def waiting(self) -> int:
        """Events not yet (fully) written; the end frame, always last, is not one."""
        ends = 1 if self.unwritten and self.unwritten[-1].event is None else 0
        return len(self.unwritten) - ends

    @property
    def undroppable(self) -> tuple[Pending, ...]:
        """A frame partly written belongs to the child already; the end frame is not an event."""
        last = self.unwritten[-1] if self.unwritten else None
        kept: tuple[Pending, ...] = (last,) if last is not None and last.event is None else ()
        if self.unwritten and self._offset:
            kept += (self.unwritten[0],)
        return kept

    def wait(self, timeout: float, also: int | None = None) -> None:
        """Return when the child exits or reports, the feed takes more, ``also`` is readable, or timed out."""
        readable = [] if self._status_eof else [self.status_fd]
        if self.exit_fd is not None:
            readable.append(self.exit_fd)
        if also is not None:
            readable.append(also)
        writable = [self.feed_fd] if self.unwritten and self.feed_fd is not None else []
        try:
            ready, can_write, _ = select.select(readable, writable, [], max(0.0, timeout))
        except (OSError, ValueError):
            ready, can_write = [], []
        if ready and self.exit_fd is None and self._status_eof and not can_write:
            # The status line comes just before the exit; do not spin on a readable pipe meanwhile.
            time.sleep(POLL_FLOOR)

    def drain_status(self) -> None:
        """Read what the child reported so far, never blocking."""
        while not self._fds_closed:
            try:
                ready, _, _ = select.select([self.status_fd], [], [], 0)
                chunk = os.read(self.status_fd, 65536) if ready else b""
            except OSError:
                return
            if not chunk:
                self._status_eof = self._status_eof or bool(ready)
                return
            self._status += chunk

    @property
    def count(self) -> int:
        """Events the child has been given."""
        return len(self.given)

    @property
    def _markers(self) -> bytes:
        return self._status.partition(b"=")[0]

    @property
    def delivered(self) -> int:
        """Events the child confirmed sent."""
        return self._markers.count(DELIVERED)

    @property
    def spooled(self) -> int:
        """Events the child spooled itself (the transport rejected them)."""
        return self._markers.count(SPOOLED)

    @property
    def spooled_events(self) -> list[Any]:
        """The events the child reported spooled."""
        markers = self._markers
        return [item.event for item, marker in zip(self.given, markers, strict=False) if marker == SPOOLED[0]]

    @property
    def unconfirmed(self) -> list[Pending]:
        """Events given to the child it has not reported on, in order (in flight or not read yet)."""
        reported = sum(self._markers.count(marker) for marker in MARKERS)
        return self.given[reported:]

    @property
    def own_events_done(self) -> bool:
        """The child wrote its final line: its own events are settled (a replay may still run)."""
        return b"=" in self._status

    @property
    def work_done(self) -> bool:
        """The child has sent, spooled or failed everything it will ever touch; only its exit is left."""
        return self.own_events_done and self._status.endswith(WORK_DONE)

    @property
    def final_status(self) -> str:
        """The error the child reported for its own events, empty when none (or no line yet)."""
        return self._status.partition(b"=")[2].rstrip(WORK_DONE).decode("utf-8", "replace")

    def _close_feed(self) -> None:
        if self.feed_fd is not None:
            try:
                os.close(self.feed_fd)
            except OSError:
                pass
            self.feed_fd = None

    def close(self) -> None:
        """Close the pipes and the pidfd, once (a closed number may already belong to someone else)."""
        self._close_feed()
        if self._fds_closed:
            return
        self._fds_closed = True
        for fd in (self.status_fd, self.exit_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass


__all__ = ["ChildChannel"]
