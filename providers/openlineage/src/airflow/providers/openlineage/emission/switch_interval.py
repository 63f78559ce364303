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
Keep the task's own thread responsive while a lineage thread works beside it.

CPython hands the GIL to a waiting thread when its holder blocks, or else only after the switch
interval (5 ms by default). A sender thread busy redacting, serialising or posting an event therefore
delays the task's main thread by up to that long each time the task comes back from I/O (a supervisor
call, a query, a file read), and the task's ``execute()`` pays for lineage it should not wait for.
While a lineage thread has work, the interval is lowered to ``SHORT_INTERVAL``; when the last such
thread is done it goes back to what it was, unless something else changed it meanwhile.

The interval is process-wide, so one hold lasts at most ``MAX_HOLD``: a watchdog thread gives it back
when a send blocks longer (a hung backend), and the process never runs at the short interval beyond a
healthy send's few milliseconds plus that cap.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

SHORT_INTERVAL = 0.0005  # seconds: the task regains the GIL within half a millisecond
MAX_HOLD = 0.25  # seconds: no hold keeps the process at the short interval for longer

_cond = threading.Condition()
_holders = 0
_restore: tuple[float, float] | None = None  # (the interval to restore, the one we set)
_held_since: float | None = None  # when the current hold lowered the interval (monotonic)
_watchdog: threading.Thread | None = None


@contextmanager
def short_switch_interval() -> Iterator[None]:
    """Lower the interpreter's switch interval while the block runs (nested and concurrent uses share it)."""
    global _holders
    with _cond:
        if _holders == 0:
            _lower()
        _holders += 1
    try:
        yield
    finally:
        with _cond:
            _holders = max(0, _holders - 1)
            if _holders == 0:
                _give_back()


def _lower() -> None:
    global _restore, _held_since
    before = sys.getswitchinterval()
    if before > SHORT_INTERVAL:
        sys.setswitchinterval(SHORT_INTERVAL)
        _restore = (before, sys.getswitchinterval())
        _held_since = time.monotonic()
        _ensure_watchdog()
        _cond.notify()


def _give_back() -> None:
    """Put back the interval we replaced, unless the task changed it meanwhile."""
    global _restore, _held_since
    _held_since = None
    if _restore is not None:
        before, ours = _restore
        _restore = None
        if sys.getswitchinterval() == ours:
            sys.setswitchinterval(before)


def _ensure_watchdog() -> None:
    global _watchdog
    if _watchdog is None or not _watchdog.is_alive():
        watchdog = threading.Thread(target=_watch, name="openlineage-switch-interval", daemon=True)
        try:
            watchdog.start()
        except RuntimeError:  # the interpreter is shutting down: the holder gives the interval back
            return
        _watchdog = watchdog


def _watch() -> None:
    """Give the interval back once a hold has lasted ``MAX_HOLD`` (its holder blocks on I/O)."""
    cond = _cond
    with cond:
        while True:
            if _held_since is None:
                cond.wait()
                continue
            left = _held_since + MAX_HOLD - time.monotonic()
            if left > 0:
                cond.wait(left)
                continue
            _give_back()  # the holders stay counted: the interval is lowered again after they are done


def _reset_after_fork() -> None:
    """A forked child has none of the parent's lineage threads: its interval goes back, its lock is new."""
    global _cond, _holders, _watchdog
    _cond = threading.Condition()
    _holders = 0
    _watchdog = None
    _give_back()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
