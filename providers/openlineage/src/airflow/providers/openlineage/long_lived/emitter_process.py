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
A helper process that does a long-lived process's lineage work outside its interpreter.

The scheduler's loop must not lose time to lineage: building, redacting, serialising and sending a
DAG-run event costs several milliseconds of CPU, and in a thread of the scheduler that CPU is taken
from the loop under the GIL. :class:`EmitterProcess` starts one helper (a fresh interpreter, never a
fork of the scheduler) and feeds it length-prefixed pickled messages through a pipe. The caller's
side only pickles and queues: :meth:`EmitterProcess.submit` never blocks, and when the helper falls
behind the oldest message is dropped and counted.

Lifecycle: the helper reads until its stdin closes, then drains for a bounded time and exits. The
parent closes the pipe at shutdown and kills the helper if it has not exited within the same deadline,
so the helper never outlives its parent for long, and a parent that dies outright closes the pipe too.
A helper that dies is started again, at most once per ``RESTART_INTERVAL`` seconds.
"""

from __future__ import annotations

import atexit
import collections
import logging
import pickle
import struct
import subprocess
import threading
import time
from typing import IO, Any

from airflow.providers.openlineage.emission import metrics
from airflow.providers.openlineage.emission.deadline import FixedDeadline

log = logging.getLogger(__name__)

_LENGTH = struct.Struct("!I")
RESTART_INTERVAL = 30.0


def encode_message(message: Any) -> bytes:
    """One frame: the pickled message behind its length."""
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(payload)) + payload


def read_message(stream: IO[bytes]) -> Any:
    """The next message of ``stream``; raises EOFError when the writer closed it."""
    header = _read_exactly(stream, _LENGTH.size)
    return pickle.loads(_read_exactly(stream, _LENGTH.unpack(header)[0]))


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    chunks: list[bytes] = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


REAP_AFTER_KILL_SECONDS = 1.0


class EmitterProcess:
    """Feeds messages to one helper process; never blocks the caller."""

    def __init__(self, argv: list[str], *, max_queue_size: int, shutdown_timeout: float) -> None:
        self._argv = argv
        self._max_queue_size = max(1, max_queue_size)
        self._shutdown_timeout = shutdown_timeout
        self._frames: collections.deque[bytes] = collections.deque()
        self._wakeup = threading.Condition()
        self._process: subprocess.Popen[bytes] | None = None
        self._feeder: threading.Thread | None = None
        self._closing = False
        self._last_start = float("-inf")
        self.submitted = 0
        self.dropped = 0
        self.lost = 0
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> bool:
        """Start the helper and the feeding thread; False (logged) when the helper cannot be started."""
        if not self._spawn():
            return False
        self._feeder = threading.Thread(target=self._feed, name="openlineage-emitter-feeder", daemon=True)
        self._feeder.start()
        atexit.register(self.shutdown)
        return True

    def submit(self, message: Any) -> bool:
        """Pickle ``message`` now (it is a copy from here on) and queue it; never blocks."""
        if self._closing:
            return False
        frame = encode_message(message)
        with self._wakeup:
            if len(self._frames) >= self._max_queue_size:
                self._frames.popleft()
                self.dropped += 1
                metrics.incr("emit.dropped")
                if self.dropped == 1:
                    log.warning(
                        "OpenLineage: the event helper process is behind (backend slow or down); "
                        "dropping the oldest queued events"
                    )
            self._frames.append(frame)
            self.submitted += 1
            self._wakeup.notify()
        return True

    def shutdown(self) -> None:
        """Hand over what is queued, close the pipe, and wait for the helper: all in one deadline."""
        if self._closing:
            return
        atexit.unregister(self.shutdown)
        deadline = FixedDeadline(self._shutdown_timeout)
        with self._wakeup:
            self._closing = True
            self._wakeup.notify()
        if self._feeder is not None:
            self._feeder.join(deadline.remaining())
        process = self._process
        if process is None:
            return
        try:
            process.wait(deadline.remaining())
        except subprocess.TimeoutExpired:
            _kill_and_reap(process)
            log.warning(
                "OpenLineage: the event helper process did not finish within %ss at shutdown; stopped",
                f"{self._shutdown_timeout:g}",
            )
        left = len(self._frames)
        if left:
            log.warning("OpenLineage: %d event(s) not handed to the helper process before shutdown", left)

    def _spawn(self) -> bool:
        self._last_start = time.monotonic()
        try:
            self._process = subprocess.Popen(self._argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        except OSError as err:
            log.warning("OpenLineage: the event helper process could not be started: %s", err)
            self._process = None
            return False
        self.starts += 1
        return True

    def _feed(self) -> None:
        """The feeding thread: writes frames in order; restarts a helper that died."""
        while True:
            with self._wakeup:
                while not self._frames and not self._closing:
                    self._wakeup.wait()
                if not self._frames:
                    break
                frame = self._frames.popleft()
            if not self._write(frame):
                self.lost += 1
                if not self._restart():
                    with self._wakeup:
                        self.lost += len(self._frames)
                        self._frames.clear()
        process = self._process
        if process is not None and process.stdin is not None:
            try:
                process.stdin.close()  # the helper's signal to drain and exit
            except OSError:
                pass

    def _write(self, frame: bytes) -> bool:
        process = self._process
        if process is None or process.stdin is None:
            return False
        try:
            process.stdin.write(frame)
            process.stdin.flush()
            return True
        except (OSError, ValueError):  # the helper died (broken pipe) or its pipe was closed
            return False

    def _restart(self) -> bool:
        """Start a new helper after one died; at most once per RESTART_INTERVAL seconds."""
        old, self._process = self._process, None
        if old is not None:
            code = old.poll()
            if code is None:
                _kill_and_reap(old)
            log.warning("OpenLineage: the event helper process exited (code %s); its events are lost", code)
        if self._closing or time.monotonic() - self._last_start < RESTART_INTERVAL:
            return False
        metrics.incr("emit.worker_replaced")
        return self._spawn()


def _kill_and_reap(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL, then reap within ``REAP_AFTER_KILL_SECONDS`` (a process in uninterruptible I/O is left)."""
    process.kill()
    try:
        process.wait(REAP_AFTER_KILL_SECONDS)
    except subprocess.TimeoutExpired:
        log.warning("OpenLineage: the event helper process %s did not exit after SIGKILL", process.pid)


__all__ = ["EmitterProcess", "encode_message", "read_message"]
