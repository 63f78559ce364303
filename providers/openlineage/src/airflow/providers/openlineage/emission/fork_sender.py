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
Send task events from forked child processes (the default for task events).

Events are extracted, built and redacted in the task runner before the fork; a child only sends. At
most one child runs at a time, and it takes *everything* pending: START is forked for at once (so it is
sent while ``execute()`` runs), and what is submitted while a child runs (a task's query events, the
terminal event) waits and goes out together in the next child, in submission order. The queue is
bounded: extras are dropped first, never START or the terminal event.

A child:

1. re-checks that its parent is still the task runner (else exits), asks the kernel to SIGKILL it when
   the parent dies (``PR_SET_PDEATHSIG``), restores default signal handlers;
2. closes every inherited descriptor but its status pipe (read from ``/proc/self/fd``, not by looping
   up to the descriptor limit) and points stdio at ``/dev/null``: it can never reach the Task SDK
   supervisor channel or the log channel;
3. builds its own client from the resolved configuration, sends its batch, *closes the client* (a
   buffering transport delivers what it queued only then), writes one status line and always leaves
   through ``os._exit``.

Exit codes: 0 all sent, 1 the transport failed for some (the status line says why), 2 internal error.
The parent waits only until the deadline less a kill grace, then SIGTERMs, SIGKILLs and reaps, all
before the deadline: no zombie, no orphan.
"""

from __future__ import annotations

import collections
import ctypes
import logging
import os
import select
import signal
import sys
import time
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

KILL_GRACE_SECONDS = 0.5
DEFAULT_QUEUE_SIZE = 1000
CHILD_TITLE = "airflow openlineage-sender"
_PR_SET_PDEATHSIG = 1
_POLL_FLOOR = 0.005
_WAIT_SLICE = 0.05
_REAP_AFTER_KILL = 1.0
_FALLBACK_MAX_FD = 65536


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


def close_inherited_fds(keep_fd: int) -> None:
    """Close every descriptor above stdio except ``keep_fd``, without looping to the fd limit."""
    listed = _inherited_fds()
    if listed:
        for fd in listed:
            if fd > 2 and fd != keep_fd:
                try:
                    os.close(fd)
                except OSError:
                    pass  # listdir's own descriptor, already gone
        return
    # No /proc: closerange uses close_range(2) where the platform has it.
    limit = min(os.sysconf("SC_OPEN_MAX"), _FALLBACK_MAX_FD) if hasattr(os, "sysconf") else 4096
    os.closerange(3, keep_fd)
    os.closerange(keep_fd + 1, max(keep_fd + 1, limit))


def _isolate_child(keep_fd: int, parent_pid: int) -> None:
    """Cut every inherited channel: only ``keep_fd`` and /dev/null stdio survive."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, signal.SIG_DFL)
    _die_with_parent(parent_pid)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    close_inherited_fds(keep_fd)


def _set_title() -> None:
    """Name the child in ``ps`` so operators (and tests) can tell a lineage sender apart."""
    try:
        import setproctitle

        setproctitle.setproctitle(CHILD_TITLE)
    except ImportError:
        pass


def _child_main(
    events: list[Any],
    client_factory: Callable[[], Any],
    status_fd: int,
    parent_pid: int,
    close_timeout: float,
) -> None:
    code, status = 2, "internal error"
    try:
        _isolate_child(status_fd, parent_pid)
        _set_title()
        # Logging handlers point at closed descriptors now; keep the client quiet.
        logging.disable(logging.CRITICAL)
        sent, error = 0, ""
        try:
            client = client_factory()
        except Exception as err:  # noqa: BLE001 - reported to the parent, which logs it
            client, error = None, f"{type(err).__name__}: {err}"
        for event in events if client is not None else ():
            try:
                send_event(client, event)
                sent += 1
            except Exception as err:  # noqa: BLE001 - the next event may still go through
                error = error or f"{type(err).__name__}: {err}"
        if client is not None and not close_client(client, close_timeout):
            error = error or "the client did not deliver its buffered events before closing"
        code = 0 if sent == len(events) and not error else 1
        status = f"{sent}/{len(events)} {error}"[:500]
        os.write(status_fd, status.encode("utf-8", "replace"))
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


class _Child:
    def __init__(self, pid: int, status_fd: int, events: list[Any]) -> None:
        self.pid = pid
        self.status_fd = status_fd
        self.exit_fd = _open_pidfd(pid)
        self.count = len(events)
        self.description = describe_event(events[-1]) if len(events) == 1 else f"{len(events)} events"

    def wait_exit(self, timeout: float) -> None:
        """Return when the child has (probably) exited or after ``timeout``: no fixed polling interval."""
        fd = self.exit_fd if self.exit_fd is not None else self.status_fd
        try:
            ready, _, _ = select.select([fd], [], [], max(0.0, timeout))
        except (OSError, ValueError):
            ready = []
        if ready and self.exit_fd is None:
            # The status line comes just before the exit; do not spin on a readable pipe meanwhile.
            time.sleep(_POLL_FLOOR)

    def read_status(self) -> str:
        try:
            ready, _, _ = select.select([self.status_fd], [], [], 0)
            return os.read(self.status_fd, 1000).decode("utf-8", "replace") if ready else ""
        except OSError:
            return ""

    def close(self) -> None:
        for fd in (self.status_fd, self.exit_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass


class _Pending:
    __slots__ = ("essential", "event")

    def __init__(self, event: Any, essential: bool) -> None:
        self.event = event
        self.essential = essential


class ForkSender:
    """One child at a time, each sending everything pending; submission order is kept."""

    mode = EmissionMode.FORK

    def __init__(
        self,
        client_factory: Callable[[], Any],
        *,
        close_timeout: float = 10.0,
        max_queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        self._client_factory = client_factory
        self._close_timeout = close_timeout
        self._max_queue_size = max(1, max_queue_size)
        self._child: _Child | None = None
        self._queued: collections.deque[_Pending] = collections.deque()
        self._closed = False
        self.forks = 0
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    def submit(self, event: Any, *, essential: bool = True) -> bool:
        """Queue ``event`` behind every earlier one; fork for what is pending if no child runs."""
        if self._closed:
            return False
        self._reap_finished()
        if len(self._queued) >= self._max_queue_size:
            self._drop_one()
        self._queued.append(_Pending(event, essential))
        return self._advance()

    def _drop_one(self) -> None:
        self.dropped = drop_one(self._queued, self.dropped)

    def _advance(self) -> bool:
        """Fork for everything queued when no child runs."""
        if self._child is not None or not self._queued:
            return True
        batch = [item.event for item in self._queued]
        self._queued.clear()
        return self._fork(batch)

    def flush(self, deadline: Deadline) -> bool:
        """Wait for every child and queued event, keeping a kill grace of ``deadline`` in reserve."""
        while True:
            self._reap_finished()
            self._advance()
            if self._child is None and not self._queued:
                return True
            remaining = deadline.remaining(reserve=KILL_GRACE_SECONDS)
            if remaining <= 0:
                return False
            # Woken by the child's exit; sliced so a deadline cut by SIGTERM is seen soon.
            self._child.wait_exit(min(remaining, _WAIT_SLICE))

    def close(self, deadline: Deadline) -> bool:
        """Every child closes its own client before it exits, so closing is flushing and refusing more."""
        done = self.flush(deadline)
        self._closed = True
        return done

    def abandon(self, deadline: Deadline | None = None) -> None:
        """Terminate and reap the running child within ``deadline``; queued events are abandoned."""
        if self._child is not None:
            grace = KILL_GRACE_SECONDS if deadline is None else min(KILL_GRACE_SECONDS, deadline.remaining())
            self._terminate(self._child, grace)
            self._child = None
        self._queued.clear()

    @property
    def pending(self) -> int:
        self._reap_finished()
        return (self._child.count if self._child is not None else 0) + len(self._queued)

    def child_pids(self) -> list[int]:
        return [self._child.pid] if self._child is not None else []

    def _fork(self, events: list[Any]) -> bool:
        read_fd, write_fd = os.pipe()
        parent_pid = os.getpid()
        try:
            pid = os.fork()
        except OSError as err:
            os.close(read_fd)
            os.close(write_fd)
            log.warning("OpenLineage could not fork to send %d event(s): %s", len(events), err)
            self.failed += len(events)
            metrics.incr("emit.failed")
            return False
        if pid == 0:  # child
            os.close(read_fd)
            _child_main(events, self._client_factory, write_fd, parent_pid, self._close_timeout)
        os.close(write_fd)
        self.forks += 1
        self._child = _Child(pid, read_fd, events)
        return True

    def _reap_finished(self) -> None:
        child = self._child
        if child is None:
            return
        try:
            pid, status = os.waitpid(child.pid, os.WNOHANG)
        except ChildProcessError:
            pid, status = child.pid, 0
        if pid == 0:
            return
        self._child = None
        self._report(child, os.waitstatus_to_exitcode(status))

    def _report(self, child: _Child, exit_code: int) -> None:
        status = child.read_status()
        child.close()
        counts, _, error = status.partition(" ")
        sent = int(counts.split("/")[0]) if counts.split("/")[0].isdigit() else 0
        self.sent += sent
        self.failed += child.count - sent
        if exit_code == 0:
            log.debug("Sent OpenLineage %s from child %d", child.description, child.pid)
        elif exit_code == 1:
            log.warning(
                "Failed to send OpenLineage %s (%s sent): %s", child.description, counts, error.strip()
            )
        else:
            log.warning(
                "OpenLineage child %d sending %s exited with %s", child.pid, child.description, exit_code
            )

    def _terminate(self, child: _Child, grace: float) -> None:
        """SIGTERM, at most ``grace`` seconds, SIGKILL, bounded reap."""
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, _REAP_AFTER_KILL)):
            try:
                os.kill(child.pid, sig)
            except ProcessLookupError:
                pass
            if _reaped_within(child.pid, wait):
                child.close()
                return
        child.close()
        log.warning("OpenLineage child %d could not be reaped; it was sent SIGKILL", child.pid)


def _reaped_within(pid: int, seconds: float) -> bool:
    end = time.monotonic() + max(0.0, seconds)
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return True
        if done:
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(_POLL_FLOOR)


__all__ = ["CHILD_TITLE", "KILL_GRACE_SECONDS", "ForkSender", "close_inherited_fds"]
