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
The sender child's program: cut off from everything the task runner holds, send, report, exit.

A child re-checks that its parent is still the task runner (else exits), asks the kernel to SIGKILL
it when the parent dies (``PR_SET_PDEATHSIG``), restores default signal handlers, closes every
inherited descriptor but its two pipes (read from ``/proc/self/fd``) and points stdio at
``/dev/null``: it can never reach the Task SDK supervisor channel or the log channel. It builds its
own client, sends its batch and then every frame until the end frame, closes the client (a buffering
transport delivers only then), reports, and always leaves through ``os._exit``.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import pickle
import signal
import sys
from collections.abc import Callable
from typing import Any

from airflow.providers.openlineage.emission.base import finished
from airflow.providers.openlineage.emission.deadline import FixedDeadline
from airflow.providers.openlineage.emission.delivery import close_client
from airflow.providers.openlineage.emission.fork_protocol import (
    DELIVERED,
    FAILED,
    SPOOLED,
    WORK_DONE,
    read_frames,
    write_status,
)
from airflow.providers.openlineage.emission.replay import TASK_REPLAY_BUDGET_SECONDS
from airflow.providers.openlineage.emission.spooling import SENT, Spooling

try:  # imported here, not in the child: a child imports nothing
    import setproctitle
except ImportError:  # pragma: no cover - Airflow depends on it
    setproctitle = None  # type: ignore[assignment]

CHILD_TITLE = "airflow openlineage-sender"
_PR_SET_PDEATHSIG = 1
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


def child_main(
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
            marker = FAILED
            try:
                event = finished(event)  # START's redaction is left to this child (see DeferredRedaction)
                if client is None:
                    marker = SPOOLED if spooling.keep(event, "no client could be built") else FAILED
                else:
                    marker = DELIVERED if spooling.deliver(client, event) == SENT else SPOOLED
            except Exception as err:  # noqa: BLE001 - the next event may still go through
                error = error or f"{type(err).__name__}: {err}"
            all_sent = all_sent and marker == DELIVERED
            write_status(status_fd, marker)

        for event in events:
            send(event)
        for payload in read_frames(feed_fd):
            try:
                event = pickle.loads(payload)
            except Exception as err:  # noqa: BLE001 - one unreadable frame loses only itself
                error = error or f"{type(err).__name__}: {err}"
                all_sent = False
                write_status(status_fd, FAILED)
                continue
            send(event)
        closed = client is None or close_client(client, close_timeout)
        if not closed:
            error = error or "the client did not deliver its buffered events before closing"
        code = 0 if all_sent and closed and not error else 1
        line = " ".join(error.split())[:500]
        write_status(status_fd, f"={line}".encode("utf-8", "replace"))
        if replay_after and client is not None and code == 0:
            spooling.replay_backlog(client_factory, FixedDeadline(TASK_REPLAY_BUDGET_SECONDS))
        # Only the exit is left: the parent may go on and reap this process later (tearing down a
        # copy of a large runner's address space takes milliseconds nobody needs to wait for).
        write_status(status_fd, WORK_DONE)
    except BaseException:  # noqa: BLE001 - nothing may escape a forked child
        pass
    finally:
        os._exit(code)


__all__ = ["CHILD_TITLE", "child_main", "close_inherited_fds"]
