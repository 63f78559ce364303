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
The pipe protocol between a task runner and its sender child.

Events go to the child as frames: a 4-byte big-endian length, then the pickled event; a zero length
is the end frame. The child answers on its status pipe with one marker byte per event (delivered,
spooled, failed), in order, then ``=<error>`` when its own events are done (a backlog replay may
follow), then a newline when only its exit is left. :class:`Pending` is one event on its way, with
the state the parent's preparer leaves it in.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import Any

FRAME_HEADER = struct.Struct(">I")
END_FRAME = FRAME_HEADER.pack(0)
DELIVERED = b"+"
SPOOLED = b"s"
FAILED = b"x"
MARKERS = (DELIVERED, SPOOLED, FAILED)
WORK_DONE = b"\n"

# A pending event's preparation: not begun, under way, a frame ready, not picklable (it goes by fork),
# not redactable (never sent).
NEW, BUSY, READY, UNPICKLABLE, UNREDACTABLE = range(5)


class Pending:
    """One event on its way to a child: the payload, whether it may be dropped first, its frame."""

    __slots__ = ("error", "essential", "event", "frame", "state")

    def __init__(self, event: Any, essential: bool) -> None:
        self.event = event
        self.essential = essential
        self.frame = b""
        self.state = NEW
        self.error = ""


def read_exactly(fd: int, size: int) -> bytes | None:
    """``size`` bytes from ``fd``, or None at end of file."""
    chunks, left = [], size
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frames(feed_fd: int) -> Iterator[bytes]:
    """Pickled events the parent writes after the fork, until the end frame or end of file."""
    while True:
        header = read_exactly(feed_fd, FRAME_HEADER.size)
        if header is None:
            return
        (size,) = FRAME_HEADER.unpack(header)
        if size == 0:
            return
        payload = read_exactly(feed_fd, size)
        if payload is None:
            return
        yield payload


def write_status(fd: int, data: bytes) -> None:
    try:
        os.write(fd, data)
    except OSError:  # full (the parent is not reading) or gone: the parent counts what it got
        pass


__all__ = [
    "BUSY",
    "DELIVERED",
    "END_FRAME",
    "FAILED",
    "FRAME_HEADER",
    "MARKERS",
    "NEW",
    "READY",
    "SPOOLED",
    "UNPICKLABLE",
    "UNREDACTABLE",
    "WORK_DONE",
    "Pending",
    "read_exactly",
    "read_frames",
    "write_status",
]
