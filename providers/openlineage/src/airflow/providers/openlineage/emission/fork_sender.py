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
Send task events from a forked child process (the default for task events).

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
import ctypes
import gc
import logging
import os
import pickle
import select
import signal
import struct
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from airflow.providers.openlineage.emission import metrics
from airflow.providers.openlineage.emission.base import Deadline, EmissionMode, finished
from airflow.providers.openlineage.emission.deadline import FixedDeadline
from airflow.providers.openlineage.emission.delivery import close_client, describe_event, drop_one
from airflow.providers.openlineage.emission.replay import TASK_REPLAY_BUDGET_SECONDS
from airflow.providers.openlineage.emission.spooling import SENT, Spooling

try:  # imported here, not in the child: a child imports nothing
    import setproctitle
except ImportError:  # pragma: no cover - Airflow depends on it
    setproctitle = None  # type: ignore[assignment]

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
CHILD_TITLE = "airflow openlineage-sender"
_PR_SET_PDEATHSIG = 1
_POLL_FLOOR = 0.005
_WAIT_SLICE = 0.05
_REAP_AFTER_KILL = 1.0  # outside a deadline only (a sender used without one)
# After SIGKILL a child is gone within milliseconds; when the deadline has nothing left the reap still
# gets this long, the small measured margin over ``execution_timeout``.
REAP_FLOOR_SECONDS = 0.05
_FALLBACK_MAX_FD = 65536
_FRAME_HEADER = struct.Struct(">I")
_END_FRAME = _FRAME_HEADER.pack(0)
# Status pipe: one marker byte per event (delivered, spooled, failed), in order, then "=<error>" when
# the child's own events are done (a backlog replay may follow), then a newline when it has nothing
# left to do but exit (the error is written on one line).
_DELIVERED = b"+"
_SPOOLED = b"s"
_FAILED = b"x"
_MARKERS = (_DELIVERED, _SPOOLED, _FAILED)
_WORK_DONE = b"\n"


def _die_with_parent(parent_pid: int) -> None:
    """SIGKILL on the parent's death; exit now if the parent already died before this call."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:
        os._exit(2)


def _inherited_fds() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc/self/fd")]
    except (OSError, ValueError):
        return []


def close_inherited_fds(*keep_fds: int) -> None:
    """Close every descriptor above stdio except ``keep_fds``, without looping to the fd limit."""
    keep = set(keep_fds)
    listed = _inherited_fds()
    if listed:
        for fd in listed:
            if fd > 2 and fd not in keep:
                try:
                    os.close(fd)
                except OSError:
                    pass  # listdir's own descriptor, already gone
        return
    # No /proc: closerange uses close_range(2) where the platform has it.
    limit = min(os.sysconf("SC_OPEN_MAX"), _FALLBACK_MAX_FD) if hasattr(os, "sysconf") else 4096
    low = 3
    for fd in sorted(keep):
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    os.closerange(low, max(low, limit))


def _isolate_child(keep_fds: tuple[int, ...], parent_pid: int) -> None:
    """Cut every inherited channel: only ``keep_fds`` and /dev/null stdio survive."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, signal.SIG_DFL)
    _die_with_parent(parent_pid)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    close_inherited_fds(*keep_fds)


def _set_title() -> None:
    """Name the child in ``ps`` so operators (and tests) can tell a lineage sender apart."""
    if setproctitle is not None:
        setproctitle.setproctitle(CHILD_TITLE)


def _read_exactly(fd: int, size: int) -> bytes | None:
    """``size`` bytes from ``fd``, or None at end of file."""
    chunks, left = [], size
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _frames(feed_fd: int):
    """Pickled events the parent writes after the fork, until the end frame or end of file."""
    while True:
        header = _read_exactly(feed_fd, _FRAME_HEADER.size)
        if header is None:
            return
        (size,) = _FRAME_HEADER.unpack(header)
        if size == 0:
            return
        payload = _read_exactly(feed_fd, size)
        if payload is None:
            return
        yield payload


def _write_status(fd: int, data: bytes) -> None:
    try:
        os.write(fd, data)
    except OSError:  # full (the parent is not reading) or gone: the parent counts what it got
        pass


def _child_main(
    events: list[Any],
    client_factory: Callable[[], Any],
    status_fd: int,
    feed_fd: int,
    parent_pid: int,
    close_timeout: float,
    spooling: Spooling,
    replay_after: bool,
) -> None:
    code = 2
    try:
        # Everything inherited is the runner's copy-on-write memory: a collection walking it would copy
        # the whole heap into this short-lived child. Only what the child allocates is collected.
        gc.freeze()
        _isolate_child((status_fd, feed_fd), parent_pid)
        _set_title()
        # Logging handlers point at closed descriptors now; keep the client quiet.
        logging.disable(logging.CRITICAL)
        error = ""
        all_sent = True
        try:
            client = client_factory()
        except Exception as err:  # noqa: BLE001 - reported to the parent, which logs it
            client, error = None, f"{type(err).__name__}: {err}"

        os.set_blocking(status_fd, False)  # the parent drains it; a full pipe only loses a marker

        def send(event: Any) -> None:
            nonlocal error, all_sent
            marker = _FAILED
            try:
                event = finished(event)  # START's redaction is left to this child (see DeferredRedaction)
                if client is None:
                    marker = _SPOOLED if spooling.keep(event, "no client could be built") else _FAILED
                else:
                    marker = _DELIVERED if spooling.deliver(client, event) == SENT else _SPOOLED
            except Exception as err:  # noqa: BLE001 - the next event may still go through
                error = error or f"{type(err).__name__}: {err}"
            all_sent = all_sent and marker == _DELIVERED
            _write_status(status_fd, marker)

        for event in events:
            send(event)
        for payload in _frames(feed_fd):
            try:
                event = pickle.loads(payload)
            except Exception as err:  # noqa: BLE001 - one unreadable frame loses only itself
                error = error or f"{type(err).__name__}: {err}"
                all_sent = False
                _write_status(status_fd, _FAILED)
                continue
            send(event)
        closed = client is None or close_client(client, close_timeout)
        if not closed:
            error = error or "the client did not deliver its buffered events before closing"
        code = 0 if all_sent and closed and not error else 1
        line = " ".join(error.split())[:500]
        _write_status(status_fd, f"={line}".encode("utf-8", "replace"))
        if replay_after and client is not None and code == 0:
            spooling.replay_backlog(client_factory, FixedDeadline(TASK_REPLAY_BUDGET_SECONDS))
        # Only the exit is left: the parent may go on and reap this process later (tearing down a
        # copy of a large runner's address space takes milliseconds nobody needs to wait for).
        _write_status(status_fd, _WORK_DONE)
    except BaseException:  # noqa: BLE001 - nothing may escape a forked child
        pass
    finally:
        os._exit(code)


def _open_pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when ``pid`` exits (Linux 5.3+), else None."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


_NEW, _BUSY, _READY, _UNPICKLABLE, _UNREDACTABLE = range(5)


class _Pending:
    __slots__ = ("error", "essential", "event", "frame", "state")

    def __init__(self, event: Any, essential: bool) -> None:
        self.event = event
        self.essential = essential
        self.frame = b""
        self.state = _NEW
        self.error = ""


class _Preparer:
    """
    Finishes (redacts) and pickles, in submission order, the events meant for the running child.

    A daemon thread does it, so the task's thread never waits on a masker or on pickling a large
    event: ``submit`` only queues, and the terminal phase waits for the preparer within its deadline
    like it waits for the child. A child forked earlier holds an older copy of the masker, so an event
    fed through the pipe is finished here, in the runner, never in that child. Each prepared event
    writes one byte to a wake pipe the parent's wait selects on.
    """

    def __init__(self) -> None:
        self.items: collections.deque[_Pending] = collections.deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.wake_fd: int | None = None
        self._wake_write: int | None = None
        self._deadline: Deadline | None = None  # once flushing: nothing is prepared after it passed
        self._halted = False  # the sender gave up (its flush ran out of time): prepare nothing more

    def add(self, item: _Pending) -> None:
        with self._cond:
            self.items.append(item)
            self._cond.notify()
        self._ensure_thread()

    def take_prepared(self) -> list[_Pending]:
        """The prepared items at the head, in order (none past one still being prepared)."""
        self._drain_wake()
        taken = []
        with self._cond:
            while self.items and self.items[0].state not in (_NEW, _BUSY):
                taken.append(self.items.popleft())
        return taken

    def take_all(self) -> list[_Pending]:
        """Every item not taken yet, prepared or not (for the next child, or the spool)."""
        with self._cond:
            left = list(self.items)
            self.items.clear()
        return left

    def __len__(self) -> int:
        return len(self.items)

    @contextlib.contextmanager
    def held(self) -> Iterator[tuple[collections.deque[_Pending], tuple[_Pending, ...]]]:
        """The items, locked against the thread, and those it is preparing now (not to be dropped)."""
        with self._cond:
            yield self.items, tuple(item for item in self.items if item.state == _BUSY)

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

    def _next(self) -> _Pending | None:
        with self._cond:
            while True:
                if self._wake_write is None:  # closed: the thread ends
                    return None
                if self._may_prepare():
                    for item in self.items:
                        if item.state == _NEW:
                            item.state = _BUSY
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
                item.error, item.state = f"{type(err).__name__}: {err}", _UNREDACTABLE
            else:
                try:
                    payload = pickle.dumps(event, protocol=pickle.HIGHEST_PROTOCOL)
                except Exception:  # noqa: BLE001 - e.g. a facet class defined in a function: send it by fork
                    item.event, item.state = event, _UNPICKLABLE
                else:
                    item.event = event
                    item.frame = _FRAME_HEADER.pack(len(payload)) + payload
                    item.state = _READY
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


class _Child:
    """A running child: its pid, its status pipe, its event feed and the frames still to write."""

    def __init__(self, pid: int, status_fd: int, feed_fd: int, events: list[_Pending]) -> None:
        self.pid = pid
        self.status_fd = status_fd
        self.feed_fd: int | None = feed_fd
        os.set_blocking(feed_fd, False)
        self.exit_fd = _open_pidfd(pid)
        self.given: list[_Pending] = list(events)  # in order: the initial batch, then each frame written
        self.unwritten: collections.deque[_Pending] = collections.deque()
        self._offset = 0  # bytes of unwritten[0] already written
        self.ending = False  # the end frame is queued: nothing more may be fed
        self._status = b""
        self._status_eof = False
        self._fds_closed = False
        self.description = describe_event(events[-1].event) if len(events) == 1 else f"{len(events)} events"

    def feed(self, item: _Pending) -> bool:
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
            end = _Pending(None, essential=True)
            end.frame = _END_FRAME
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

    def take_unsent(self) -> list[_Pending]:
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
    def undroppable(self) -> tuple[_Pending, ...]:
        """A frame partly written belongs to the child already; the end frame is not an event."""
        last = self.unwritten[-1] if self.unwritten else None
        kept: tuple[_Pending, ...] = (last,) if last is not None and last.event is None else ()
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
            time.sleep(_POLL_FLOOR)

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
        return self._markers.count(_DELIVERED)

    @property
    def spooled(self) -> int:
        """Events the child spooled itself (the transport rejected them)."""
        return self._markers.count(_SPOOLED)

    @property
    def spooled_events(self) -> list[Any]:
        """The events the child reported spooled."""
        markers = self._markers
        return [
            item.event for item, marker in zip(self.given, markers, strict=False) if marker == _SPOOLED[0]
        ]

    @property
    def unconfirmed(self) -> list[_Pending]:
        """Events given to the child it has not reported on, in order (in flight or not read yet)."""
        reported = sum(self._markers.count(marker) for marker in _MARKERS)
        return self.given[reported:]

    @property
    def own_events_done(self) -> bool:
        """The child wrote its final line: its own events are settled (a replay may still run)."""
        return b"=" in self._status

    @property
    def work_done(self) -> bool:
        """The child has sent, spooled or failed everything it will ever touch; only its exit is left."""
        return self.own_events_done and self._status.endswith(_WORK_DONE)

    @property
    def final_status(self) -> str:
        """The error the child reported for its own events, empty when none (or no line yet)."""
        return self._status.partition(b"=")[2].rstrip(_WORK_DONE).decode("utf-8", "replace")

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
        self._child: _Child | None = None
        self._exiting: list[_Child] = []  # done with their work, not reaped yet
        self._unreaped: list[int] = []  # sent SIGKILL, not reaped within the deadline: reaped later
        self._queued: collections.deque[_Pending] = collections.deque()
        self._preparer = _Preparer()  # events for the running child, redacted and pickled off this thread
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
        item = _Pending(event, essential)
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
            if item.state == _UNREDACTABLE:
                self._not_redacted(item)
            elif item.state == _READY and not self._queued and child is not None and child.feed(item):
                continue
            else:  # cannot be pickled, or its child is ending: it and what follows go to the next child
                self._queued.append(item)
                if child is not None and not child.ending:
                    child.end()

    def _count_unredactable(self) -> None:
        """Items the preparer could not redact, moved to the queue: never sent, counted once."""
        bad = [item for item in self._queued if item.state == _UNREDACTABLE]
        for item in bad:
            self._queued.remove(item)
            self._not_redacted(item)

    def _not_redacted(self, item: _Pending) -> None:
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

    def _keep_dropped(self, item: _Pending) -> bool:
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
                _wait_readable(self._preparer.wake_fd, min(remaining, _WAIT_SLICE))
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
            if not _reaped_within(child.pid, deadline.remaining()):
                self._terminate(child, 0.0, deadline)
            child.close()

    def abandon(self, deadline: Deadline | None = None) -> None:
        """
        Terminate and reap the running child within ``deadline``; what it never confirmed and what is
        queued are spooled (with a spool, in what the deadline has left) or abandoned. Children that
        are only exiting are reaped too.
        """
        self.reap(deadline if deadline is not None else FixedDeadline(0.0))
        unsent: list[_Pending] = []
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
        unsent += [item for item in self._preparer.take_all() if item.state != _UNREDACTABLE]
        unsent += list(self._queued)
        self._queued.clear()
        self._preparer.close()
        if unsent and deadline is not None:
            pairs = [(item.event, item.essential) for item in unsent]
            self.spooling.keep_all(pairs, "the deadline passed before it was sent", deadline)

    def _end_replay(self, child: _Child) -> None:
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

    def _fork(self, items: list[_Pending]) -> bool:
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
            _child_main(
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
        self._child = _Child(pid, status_read, feed_write, items)
        return True

    def _retire(self, child: _Child) -> None:
        """The child's work is done: report it now; its exit is reaped by a later call."""
        self._child = None
        self._report(child, 0 if not child.final_status and child.delivered == child.count else 1)
        self._exiting.append(child)

    def _reap_exiting(self) -> None:
        self._unreaped = [pid for pid in self._unreaped if not _reaped_within(pid, 0.0)]
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

    def _settle(self, child: _Child) -> None:
        self.spooling.note_spooled_elsewhere(child.spooled_events)  # the next child keeps their runs' order
        self.sent += child.delivered
        self._child_spooled += child.spooled
        self.failed += max(0, child.count - child.delivered - child.spooled)

    def _report(self, child: _Child, exit_code: int) -> None:
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
        self, child: _Child, grace: float, deadline: Deadline | None, reserve: float = 0.0
    ) -> None:
        """
        SIGTERM, at most ``grace`` seconds, SIGKILL, then a reap within what ``deadline`` has left
        (less ``reserve``, at least ``REAP_FLOOR_SECONDS``). A child not reaped by then (it cannot
        be scheduled) is reaped without waiting by later calls; it was sent SIGKILL.
        """
        if _reaped_within(child.pid, 0.0):
            return
        try:
            os.kill(child.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if _reaped_within(child.pid, grace):
            return
        try:
            os.kill(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        after_kill = (
            _REAP_AFTER_KILL if deadline is None else max(REAP_FLOOR_SECONDS, deadline.remaining(reserve))
        )
        if _reaped_within(child.pid, after_kill):
            return
        self._unreaped.append(child.pid)
        log.warning("OpenLineage child %d was sent SIGKILL and is not reaped yet", child.pid)


def _wait_readable(fd: int | None, seconds: float) -> None:
    """Wait until ``fd`` is readable, at most ``seconds``."""
    if fd is None:
        time.sleep(max(0.0, min(seconds, _POLL_FLOOR)))
        return
    try:
        select.select([fd], [], [], max(0.0, seconds))
    except (OSError, ValueError):
        time.sleep(max(0.0, min(seconds, _POLL_FLOOR)))


def _reaped_within(pid: int, seconds: float) -> bool:
    """
    Reap ``pid`` if it exits within ``seconds``.

    Waits on a pidfd, so the wait ends the moment the child is gone (a child tearing down a copy of a
    large runner takes ~10-20 ms; polling would add up to a poll interval to each). Polls only where
    pidfds are not available.
    """
    exit_fd = _open_pidfd(pid)
    end = time.monotonic() + max(0.0, seconds)
    try:
        while True:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                return True
            if done:
                return True
            left = end - time.monotonic()
            if left <= 0:
                return False
            if exit_fd is None:
                time.sleep(min(_POLL_FLOOR, left))
                continue
            try:
                select.select([exit_fd], [], [], left)
            except (OSError, ValueError):
                time.sleep(min(_POLL_FLOOR, left))
    finally:
        if exit_fd is not None:
            os.close(exit_fd)


__all__ = ["CHILD_TITLE", "KILL_GRACE_SECONDS", "ForkSender", "close_inherited_fds"]
