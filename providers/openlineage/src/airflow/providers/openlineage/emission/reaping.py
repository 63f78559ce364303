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
"""Waiting for a child process to exit, bounded: on its pidfd where the kernel has them, else polling."""

from __future__ import annotations

import os
import select
import time

POLL_FLOOR = 0.005


def open_pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when ``pid`` exits (Linux 5.3+), else None."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def wait_readable(fd: int | None, seconds: float) -> None:
    """Wait until ``fd`` is readable, at most ``seconds``."""
    if fd is None:
        time.sleep(max(0.0, min(seconds, POLL_FLOOR)))
        return
    try:
        select.select([fd], [], [], max(0.0, seconds))
    except (OSError, ValueError):
        time.sleep(max(0.0, min(seconds, POLL_FLOOR)))


def reaped_within(pid: int, seconds: float) -> bool:
    """
    Reap ``pid`` if it exits within ``seconds``.

    Waits on a pidfd, so the wait ends the moment the child is gone (a child tearing down a copy of a
    large runner takes ~10-20 ms; polling would add up to a poll interval to each). Polls only where
    pidfds are not available.
    """
    exit_fd = open_pidfd(pid)
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
                time.sleep(min(POLL_FLOOR, left))
                continue
            try:
                select.select([exit_fd], [], [], left)
            except (OSError, ValueError):
                time.sleep(min(POLL_FLOOR, left))
    finally:
        if exit_fd is not None:
            os.close(exit_fd)


__all__ = ["POLL_FLOOR", "open_pidfd", "reaped_within", "wait_readable"]
