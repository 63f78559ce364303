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
Send task events from a forked child process (the default for task events): the queue policy.

Events are extracted, built and redacted in the task runner; a child only sends. One child serves
the attempt: it is forked for START (so START goes out while ``execute()`` runs), builds its client
once, and stays to take what comes next (a task's query events, the terminal event) through a pipe,
each event pickled into a length-prefixed frame. ``flush``/``close`` send an end frame; the child
sends what it holds, closes its client and exits. The terminal event so costs no second fork, no
second client and no second connection. An event that cannot be pickled, or one submitted once the
child is ending, waits and goes out in the next child (forked with everything pending), in
submission order. The queue and the frames not yet written are bounded together: extras are dropped
first, never START or the terminal event.

A child:

1. re-checks that its parent is still the task runner (else exits), asks the kernel to SIGKILL it when
   the parent dies (``PR_SET_PDEATHSIG``), restores default signal handlers;
2. closes every inherited descriptor but its status and event pipes (read from ``/proc/self/fd``, not
   by looping up to the descriptor limit) and points stdio at ``/dev/null``: it can never reach the
   Task SDK supervisor channel or the log channel;
3. builds its own client from the resolved configuration, sends its batch and then every frame until
   the end frame (or end of file), *closes the client* (a buffering transport delivers what it
   queued only then), writes one status line and always leaves through ``os._exit``.

With a spool (``emission.spooling``) the child spools what the transport rejects and says so (one
marker per event: sent, spooled or failed); after its own events it replays a few spooled ones. What
the child never confirmed when the deadline ends it is spooled by the parent, after the child is gone.

Forking a multi-threaded runner (a task's own threads, an abandoned extraction thread) is deliberate:
a lock another thread held at the fork stays held in the child, and a child that blocks on one is
SIGKILLed and reaped at its deadline like a hung backend. Python 3.12+ warns about every such fork
(``DeprecationWarning``); that warning is silenced for this module's fork only, so task logs carry
no warning the user cannot act on, while their own forks still warn.

Exit codes: 0 all sent, 1 the transport failed for some (the status line says why), 2 internal error.
The parent writes without blocking and waits (on the child's pidfd) only until the deadline less a
kill grace, then SIGTERMs, SIGKILLs and reaps, all before the deadline: no zombie, no orphan.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import signal
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from airflow.providers.openlineage.emission import metrics, reaping
from airflow.providers.openlineage.emission.base import Deadline, EmissionMode
from airflow.providers.openlineage.emission.deadline import FixedDeadline
from airflow.providers.openlineage.emission.delivery import describe_event, drop_one
from airflow.providers.openlineage.emission.fork_channel import ChildChannel
from airflow.providers.openlineage.emission.fork_child import CHILD_TITLE, child_main, close_inherited_fds
from airflow.providers.openlineage.emission.fork_preparer import Preparer
from airflow.providers.openlineage.emission.fork_protocol import READY, UNREDACTABLE, Pending
from airflow.providers.openlineage.emission.replay import TASK_REPLAY_BUDGET_SECONDS
from airflow.providers.openlineage.emission.spooling import Spooling

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _quiet_fork_warning() -> Iterator[None]:
    """
    Python 3.12+ warns "This process is multi-threaded, use of fork() may lead to deadlocks in the
    child." Our fork handles that (the child is bounded by its deadline, killed and reaped), so the
    warning is not shown for this module's fork. The filter lives only around the fork: the process's
    filter list is put back as it was right after it (the child never leaves the block).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message=r".*use of fork\(\) may lead to deadlocks",
            category=DeprecationWarning,
        )
        yield


KILL_GRACE_SECONDS = 0.5
DEFAULT_QUEUE_SIZE = 1000
_WAIT_SLICE = 0.05
_REAP_AFTER_KILL = 1.0  # outside a deadline only (a sender used without one)
# After SIGKILL a child is gone within milliseconds (tearing down its copy of the runner), more on a
# loaded machine (over 50 ms seen in CI with eight jobs on two cores); when the deadline has nothing
# left the reap still gets this long: the small margin over ``execution_timeout``.
REAP_FLOOR_SECONDS = 0.25


class ForkSender:
    """One child per attempt where it can be: forked for the first event, fed the rest by a pipe."""

    mode = EmissionMode.FORK

    def __init__(
        self,
        client_factory: Callable[[], Any],
        *,
        close_timeout: float = 10.0,
        max_queue_size: int = DEFAULT_QUEUE_SIZE,
        spooling: Spooling | None = None,
        replay_on_close: bool = True,
    ) -> None:
        self._client_factory = client_factory
        self._close_timeout = close_timeout
        self._max_queue_size = max(1, max_queue_size)
        self.spooling = spooling or Spooling(None)
        self._replay_on_close = replay_on_close
        self._child: ChildChannel | None = None
        self._exiting: list[ChildChannel] = []  # done with their work, not reaped yet
        self._unreaped: list[int] = []  # sent SIGKILL, not reaped within the deadline: reaped later
        self._queued: collections.deque[Pending] = collections.deque()
        self._preparer = Preparer()  # events for the running child, redacted and pickled off this thread
        self._closed = False
        self.forks = 0
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._child_spooled = 0

    @property
    def spooled(self) -> int:
        """Spooled by a child (the transport failed) or by this process (deadline, full queue)."""
        return self._child_spooled + self.spooling.spooled

    def submit(self, event: Any, *, essential: bool = True) -> bool:
        """
        Hand ``event`` to the running child (prepared off this thread), or queue it behind every earlier
        one and fork. Never redacts or pickles on the caller's thread.
        """
        if self._closed:
            return False
        self._reap_finished()
        if self._waiting() >= self._max_queue_size:
            self._drop_one()
        item = Pending(event, essential)
        child = self._child
        if child is not None and not self._queued and not child.ending:
            self._preparer.add(item)
            return True
        self._queued.append(item)
        if child is not None and not child.ending:
            child.end()  # order: this event and what follows go to the next child, after this one
        return self._advance()

    def _feed_prepared(self) -> None:
        """Give the running child what the preparer has finished, in order."""
        for item in self._preparer.take_prepared():
            child = self._child
            if item.state == UNREDACTABLE:
                self._not_redacted(item)
            elif item.state == READY and not self._queued and child is not None and child.feed(item):
                continue
            else:  # cannot be pickled, or its child is ending: it and what follows go to the next child
                self._queued.append(item)
                if child is not None and not child.ending:
                    child.end()

    def _count_unredactable(self) -> None:
        """Items the preparer could not redact, moved to the queue: never sent, counted once."""
        bad = [item for item in self._queued if item.state == UNREDACTABLE]
        for item in bad:
            self._queued.remove(item)
            self._not_redacted(item)

    def _not_redacted(self, item: Pending) -> None:
        self.failed += 1
        name = describe_event(item.event)
        log.warning("OpenLineage %s not sent, it could not be redacted: %s", name, item.error)

    def _waiting(self) -> int:
        in_child = self._child.waiting if self._child is not None else 0
        return len(self._queued) + in_child + len(self._preparer)

    def _drop_one(self) -> None:
        child = self._child
        unwritten = child.unwritten if child is not None else collections.deque()
        protected = child.undroppable if child is not None else ()
        keep = self._keep_dropped if self.spooling.enabled else None
        with self._preparer.held() as (preparing, busy):
            queues = [unwritten, preparing, self._queued]
            self.dropped = drop_one(queues, self.dropped, protected + busy, keep=keep)

    def _keep_dropped(self, item: Pending) -> bool:
        return self.spooling.keep(item.event, "the send queue was full")

    def _advance(self) -> bool:
        """Fork for everything queued when no child runs."""
        if self._child is not None or not self._queued:
            return True
        batch = list(self._queued)
        self._queued.clear()
        return self._fork(batch)

    def flush(self, deadline: Deadline) -> bool:
        """End the child's feed and wait for it (and what is queued), keeping a kill grace in reserve."""
        self._preparer.bound(deadline)
        replay_ends: float | None = None  # once the child's own events are settled: the backlog's share
        while True:
            self._reap_finished()
            self._advance()
            child = self._child
            if child is None and not self._queued and not len(self._preparer):
                return True
            remaining = deadline.remaining(reserve=KILL_GRACE_SECONDS + self.spooling.reserve)
            if child is not None and not self._queued and not len(self._preparer) and child.own_events_done:
                if replay_ends is None:
                    replay_ends = time.monotonic() + TASK_REPLAY_BUDGET_SECONDS
                if time.monotonic() >= replay_ends:
                    self._end_replay(child)  # a backlog replay past its share: stop it, nothing is lost
                    return True
            if remaining <= 0:
                if child is not None and not self._queued and child.own_events_done:
                    self._end_replay(child)  # only its backlog replay is left: stop it, nothing is lost
                    return True
                self._preparer.halt()
                return False
            if child is None:  # only the preparer is busy (its child is gone): wait for it
                reaping.wait_readable(self._preparer.wake_fd, min(remaining, _WAIT_SLICE))
                self._feed_prepared()
                continue
            if not len(self._preparer):
                child.end()
                if child.work_done and child.feed_fd is None:
                    self._retire(child)  # its events are settled; the exit is reaped later
                    continue
            # Woken by the child's exit, its status, a writable feed or a prepared event; sliced so a
            # deadline cut by SIGTERM is seen.
            child.wait(min(remaining, _WAIT_SLICE), also=self._preparer.wake_fd)

    def close(self, deadline: Deadline) -> bool:
        """Every child closes its own client before it exits, so closing is flushing and refusing more."""
        done = self.flush(deadline)
        self._closed = True
        if done:
            self._preparer.close()  # its thread ends; on failure abandon() closes it
        return done

    def reap(self, deadline: Deadline) -> None:
        """
        Reap the children that finished their work and are exiting (the task runner is stopping):
        each gets what ``deadline`` leaves, then SIGKILL and a bounded reap. No child outlives this.
        """
        while self._exiting:
            child = self._exiting.pop()
            if not reaping.reaped_within(child.pid, deadline.remaining()):
                self._terminate(child, 0.0, deadline)
            child.close()

    def abandon(self, deadline: Deadline | None = None) -> None:
        """
        Terminate and reap the running child within ``deadline``; what it never confirmed and what is
        queued are spooled (with a spool, in what the deadline has left) or abandoned. Children that
        are only exiting are reaped too.
        """
        self.reap(deadline if deadline is not None else FixedDeadline(0.0))
        unsent: list[Pending] = []
        if self._child is not None:
            reserve = self.spooling.reserve
            grace = (
                KILL_GRACE_SECONDS
                if deadline is None
                else min(KILL_GRACE_SECONDS, deadline.remaining(reserve=reserve))
            )
            child = self._child
            not_written = child.take_unsent()
            self._terminate(child, grace, deadline, reserve)
            child.drain_status()
            self.sent += child.delivered
            self._child_spooled += child.spooled
            self.spooling.note_spooled_elsewhere(child.spooled_events)
            unsent = child.unconfirmed + not_written
            child.close()
            self._child = None
        unsent += [item for item in self._preparer.take_all() if item.state != UNREDACTABLE]
        unsent += list(self._queued)
        self._queued.clear()
        self._preparer.close()
        if unsent and deadline is not None:
            pairs = [(item.event, item.essential) for item in unsent]
            self.spooling.keep_all(pairs, "the deadline passed before it was sent", deadline)

    def _end_replay(self, child: ChildChannel) -> None:
        self._terminate(child, 0.0, FixedDeadline(KILL_GRACE_SECONDS))  # flush kept this in reserve
        child.drain_status()
        self._settle(child)
        child.close()
        self._child = None

    @property
    def pending(self) -> int:
        self._reap_finished()
        child = self._child
        in_child = len(child.unconfirmed) + child.waiting if child is not None else 0
        return in_child + len(self._queued)

    def child_pids(self) -> list[int]:
        running = [self._child.pid] if self._child is not None else []
        return running + [child.pid for child in self._exiting]

    def _fork(self, items: list[Pending]) -> bool:
        status_read, status_write = os.pipe()
        feed_read, feed_write = os.pipe()
        parent_pid = os.getpid()
        try:
            with _quiet_fork_warning():
                pid = os.fork()
        except OSError as err:
            for fd in (status_read, status_write, feed_read, feed_write):
                os.close(fd)
            log.warning("OpenLineage could not fork to send %d event(s): %s", len(items), err)
            self.failed += len(items)
            metrics.incr("emit.failed")
            return False
        if pid == 0:  # child
            child_main(
                [item.event for item in items],
                self._client_factory,
                status_write,
                feed_read,
                parent_pid,
                self._close_timeout,
                self.spooling,
                self._replay_on_close,
            )
        os.close(status_write)
        os.close(feed_read)
        self.forks += 1
        self._child = ChildChannel(pid, status_read, feed_write, items)
        return True

    def _retire(self, child: ChildChannel) -> None:
        """The child's work is done: report it now; its exit is reaped by a later call."""
        self._child = None
        self._report(child, 0 if not child.final_status and child.delivered == child.count else 1)
        self._exiting.append(child)

    def _reap_exiting(self) -> None:
        self._unreaped = [pid for pid in self._unreaped if not reaping.reaped_within(pid, 0.0)]
        for child in list(self._exiting):
            try:
                pid, _ = os.waitpid(child.pid, os.WNOHANG)
            except ChildProcessError:
                pid = child.pid
            if pid:
                self._exiting.remove(child)
                child.close()

    def _reap_finished(self) -> None:
        self._reap_exiting()
        self._feed_prepared()
        child = self._child
        if child is None:
            return
        child.pump()
        child.drain_status()
        try:
            pid, status = os.waitpid(child.pid, os.WNOHANG)
        except ChildProcessError:
            pid, status = child.pid, 0
        if pid == 0:
            return
        self._child = None
        # What the child never got (it ended early) goes to the next child, ahead of what is queued;
        # what was being prepared for it follows (queued items always come after those).
        self._queued.extendleft(reversed(child.take_unsent() + self._preparer.take_all()))
        self._count_unredactable()
        self._report(child, os.waitstatus_to_exitcode(status))

    def _settle(self, child: ChildChannel) -> None:
        self.spooling.note_spooled_elsewhere(child.spooled_events)  # the next child keeps their runs' order
        self.sent += child.delivered
        self._child_spooled += child.spooled
        self.failed += max(0, child.count - child.delivered - child.spooled)

    def _report(self, child: ChildChannel, exit_code: int) -> None:
        child.drain_status()
        child.close()
        self._settle(child)
        counts = f"{child.delivered}/{child.count}"
        error = child.final_status
        if child.spooled:
            log.info(
                "OpenLineage: %d of %s spooled for later delivery (%s)",
                child.spooled,
                child.description,
                error.strip() or "an earlier event of its run is spooled",
            )
        if exit_code == 0:
            log.debug("Sent OpenLineage %s from child %d", child.description, child.pid)
        elif exit_code == 1 and child.count > child.delivered + child.spooled:
            log.warning(
                "Failed to send OpenLineage %s (%s sent): %s", child.description, counts, error.strip()
            )
        else:
            log.warning(
                "OpenLineage child %d sending %s exited with %s", child.pid, child.description, exit_code
            )

    def _terminate(
        self, child: ChildChannel, grace: float, deadline: Deadline | None, reserve: float = 0.0
    ) -> None:
        """
        SIGTERM, at most ``grace`` seconds, SIGKILL, then a reap within what ``deadline`` has left
        (less ``reserve``, at least ``REAP_FLOOR_SECONDS``). A child not reaped by then (it cannot
        be scheduled) is reaped without waiting by later calls; it was sent SIGKILL.
        """
        if reaping.reaped_within(child.pid, 0.0):
            return
        try:
            os.kill(child.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if reaping.reaped_within(child.pid, grace):
            return
        try:
            os.kill(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        after_kill = (
            _REAP_AFTER_KILL if deadline is None else max(REAP_FLOOR_SECONDS, deadline.remaining(reserve))
        )
        if reaping.reaped_within(child.pid, after_kill):
            return
        self._unreaped.append(child.pid)
        log.warning("OpenLineage child %d was sent SIGKILL and is not reaped yet", child.pid)


__all__ = ["CHILD_TITLE", "KILL_GRACE_SECONDS", "ForkSender", "close_inherited_fds"]
