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
Send each event from a forked child process (the default for task events).

The event is fully built, extracted and redacted in the task runner before the fork; the child only
sends it. The child:

1. closes every inherited file descriptor except its status pipe, and points stdin/stdout/stderr at
   ``/dev/null``: it can never read or write the Task SDK supervisor channel or the log channel;
2. restores default signal handlers (the task runner's SIGTERM handler does nothing useful in a
   child) and asks the kernel to SIGKILL it if the task runner dies (``PR_SET_PDEATHSIG``), so no
   lineage process outlives its task runner;
3. builds its own client from the resolved configuration dict, sends, writes one status line to the
   pipe and always leaves through ``os._exit``.

Exit codes: 0 sent, 1 the transport failed (the status line says why), 2 an internal error.
The parent waits at most the time it is given, then SIGTERMs, SIGKILLs after a short grace and reaps:
no zombie, no orphan.
"""

from __future__ import annotations

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
from airflow.providers.openlineage.emission.worker import describe_event, send_event

log = logging.getLogger(__name__)

KILL_GRACE_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1
_POLL_FLOOR = 0.005


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _isolate_child(keep_fd: int) -> None:
    """Cut every inherited channel: only ``keep_fd`` and /dev/null stdio survive."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, signal.SIG_DFL)
    _die_with_parent()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    max_fd = os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 4096
    os.closerange(3, keep_fd)
    os.closerange(keep_fd + 1, max_fd)


CHILD_TITLE = "airflow openlineage-sender"


def _set_title() -> None:
    """Name the child in ``ps`` so operators (and tests) can tell a lineage sender apart."""
    try:
        import setproctitle

        setproctitle.setproctitle(CHILD_TITLE)
    except ImportError:
        pass


def _child_main(event: Any, client_factory: Callable[[], Any], status_fd: int) -> None:
    code, status = 2, "internal error"
    try:
        _isolate_child(status_fd)
        _set_title()
        # Logging handlers point at closed descriptors now; keep the client quiet.
        logging.disable(logging.CRITICAL)
        try:
            send_event(client_factory(), event)
            code, status = 0, "sent"
        except Exception as err:  # noqa: BLE001 - reported to the parent, which logs it
            code, status = 1, f"{type(err).__name__}: {err}"[:500]
        os.write(status_fd, status.encode("utf-8", "replace"))
    except BaseException:  # noqa: BLE001 - nothing may escape a forked child
        pass
    finally:
        os._exit(code)


class _Child:
    def __init__(self, pid: int, status_fd: int, event: Any) -> None:
        self.pid = pid
        self.status_fd = status_fd
        self.description = describe_event(event)

    def read_status(self) -> str:
        try:
            ready, _, _ = select.select([self.status_fd], [], [], 0)
            return os.read(self.status_fd, 1000).decode("utf-8", "replace") if ready else ""
        except OSError:
            return ""

    def close(self) -> None:
        try:
            os.close(self.status_fd)
        except OSError:
            pass


class ForkSender:
    """One short-lived child per event; events of one task are sent in submission order."""

    mode = "fork"

    def __init__(self, client_factory: Callable[[], Any]) -> None:
        self._client_factory = client_factory
        self._children: list[_Child] = []
        self._queued: list[Any] = []

    def submit(self, event: Any) -> bool:
        """Queue ``event`` behind every earlier one; fork for the head of the queue if no child runs."""
        self._reap_finished()
        self._queued.append(event)
        return self._advance()

    def _advance(self) -> bool:
        """Fork for queued events, one child at a time, in submission order."""
        forked = True
        while not self._children and self._queued:
            forked = self._fork(self._queued.pop(0))
        return forked

    def wait(self, timeout: float) -> bool:
        """Wait for every child and queued event, forking queued events as earlier ones finish."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            self._reap_finished()
            self._advance()
            if not self._children and not self._queued:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(max(_POLL_FLOOR, remaining / 20), 0.05, remaining))

    def abandon(self) -> None:
        """Terminate and reap every child; forget queued events."""
        for child in self._children:
            self._terminate(child)
        self._children.clear()
        if self._queued:
            metrics.incr("emit.dropped")
        self._queued.clear()

    @property
    def pending(self) -> int:
        self._reap_finished()
        return len(self._children) + len(self._queued)

    def child_pids(self) -> list[int]:
        return [child.pid for child in self._children]

    def _fork(self, event: Any) -> bool:
        read_fd, write_fd = os.pipe()
        try:
            pid = os.fork()
        except OSError as err:
            os.close(read_fd)
            os.close(write_fd)
            log.warning("OpenLineage could not fork to send %s: %s", describe_event(event), err)
            metrics.incr("emit.failed")
            return False
        if pid == 0:  # child
            os.close(read_fd)
            _child_main(event, self._client_factory, write_fd)
        os.close(write_fd)
        self._children.append(_Child(pid, read_fd, event))
        return True

    def _reap_finished(self) -> None:
        still_running = []
        for child in self._children:
            try:
                pid, status = os.waitpid(child.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = child.pid, 0
            if pid == 0:
                still_running.append(child)
                continue
            self._report(child, os.waitstatus_to_exitcode(status))
        self._children = still_running

    def _report(self, child: _Child, exit_code: int) -> None:
        status = child.read_status()
        child.close()
        if exit_code == 0:
            log.debug("Sent OpenLineage %s from child %d", child.description, child.pid)
        elif exit_code == 1:
            log.warning("Failed to send OpenLineage %s: %s", child.description, status)
        else:
            log.warning(
                "OpenLineage child %d sending %s exited with %s", child.pid, child.description, exit_code
            )

    def _terminate(self, child: _Child) -> None:
        """SIGTERM, short grace, SIGKILL, reap."""
        for sig, grace in ((signal.SIGTERM, KILL_GRACE_SECONDS), (signal.SIGKILL, 5.0)):
            try:
                os.kill(child.pid, sig)
            except ProcessLookupError:
                break
            end = time.monotonic() + grace
            while time.monotonic() < end:
                try:
                    pid, _ = os.waitpid(child.pid, os.WNOHANG)
                except ChildProcessError:
                    pid = child.pid
                if pid:
                    child.close()
                    return
                time.sleep(_POLL_FLOOR)
        try:
            os.waitpid(child.pid, 0)
        except ChildProcessError:
            pass
        child.close()
