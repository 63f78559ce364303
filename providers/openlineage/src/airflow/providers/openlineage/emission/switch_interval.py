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
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SHORT_INTERVAL = 0.0005  # seconds: the task regains the GIL within half a millisecond

_lock = threading.Lock()
_holders = 0
_restore: tuple[float, float] | None = None  # (the interval to restore, the one we set)


@contextmanager
def short_switch_interval() -> Iterator[None]:
    """Lower the interpreter's switch interval while the block runs (nested and concurrent uses share it)."""
    global _holders, _restore
    with _lock:
        if _holders == 0:
            before = sys.getswitchinterval()
            if before > SHORT_INTERVAL:
                sys.setswitchinterval(SHORT_INTERVAL)
                _restore = (before, sys.getswitchinterval())
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders = max(0, _holders - 1)
            if _holders == 0:
                _give_back()


def _give_back() -> None:
    """Put back the interval we replaced, unless the task changed it meanwhile."""
    global _restore
    if _restore is not None:
        before, ours = _restore
        _restore = None
        if sys.getswitchinterval() == ours:
            sys.setswitchinterval(before)


def _reset_after_fork() -> None:
    """A forked child has none of the parent's lineage threads: its interval goes back, its lock is new."""
    global _lock, _holders
    _lock = threading.Lock()
    _holders = 0
    _give_back()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
