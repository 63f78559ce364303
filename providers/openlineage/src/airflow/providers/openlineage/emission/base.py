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
How events leave the process, behind one small interface.

``EventSender`` is all the listener and the task emitter know about sending:

* ``submit(event)`` hands over a finished, redacted event and returns at once;
* ``wait(timeout)`` waits at most ``timeout`` seconds for everything submitted to be sent (or to
  fail), and says whether it all finished;
* ``abandon()`` gives up on what is still in flight without waiting (a thread is left to finish on
  its own; a child process is terminated and reaped).

Implementations: :class:`~.worker.ThreadSender` (a daemon thread, ``execute_in_thread = True`` and
the long-lived processes) and :class:`~.fork_sender.ForkSender` (a child process per event, the
default for tasks). Neither ever talks to the Task SDK supervisor.
"""

from __future__ import annotations

from typing import Any, Protocol


class EventSender(Protocol):
    """Sends finished events; never blocks the caller beyond the timeout it is given."""

    mode: str

    def submit(self, event: Any) -> bool: ...

    def wait(self, timeout: float) -> bool: ...

    def abandon(self) -> None: ...
