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
Where an event the task's own code emits goes: the public API, a provider's query events, hook lineage.

While the task runner hosts an attempt, its attempt model attaches a *taker* here; emitters anywhere
below the listener hand their event to :func:`emit_extra` and never reach for the listener. Events the
attempt does not take (none is open, or it ended) go to the process's background emitter.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from airflow.providers.openlineage.config import client_config
from airflow.providers.openlineage.emission.background import get_background_emitter
from airflow.providers.openlineage.emission.base import OpenLineageEvent

Taker = Callable[[OpenLineageEvent], bool]

_lock = threading.Lock()
_taker: Taker | None = None


def attach(taker: Taker) -> None:
    """``taker(event)`` is offered every extra event from now on; True when it took the event."""
    global _taker
    with _lock:
        _taker = taker


def detach(taker: Taker) -> None:
    """Stop offering events to ``taker`` (if it is still the one attached)."""
    global _taker
    with _lock:
        if _taker == taker:
            _taker = None


def offer(event: OpenLineageEvent) -> bool:
    """Offer ``event`` to the running attempt; False when none took it."""
    taker = _taker
    return taker is not None and taker(event)


def emit_extra(event: OpenLineageEvent, config: dict | None = None) -> None:
    """Hand a finished (redacted) event to the running attempt, else to the background emitter."""
    if offer(event):
        return
    resolved = config if config is not None else client_config.resolved_client_config()
    get_background_emitter(lambda: client_config.build_client(resolved)).submit(event)


__all__ = ["attach", "detach", "emit_extra", "offer"]
