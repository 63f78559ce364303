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
Handing one event, or a client's last buffered ones, to an OpenLineage client.

Shared by every sender so none imports another's module. Log lines identify an event by type, job
and run id, never by its payload.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from airflow.providers.openlineage.emission import metrics

log = logging.getLogger(__name__)

# A client close asked to wait "0" would mean "forever" to some transports; never ask for less.
_MIN_CLOSE_TIMEOUT = 0.001


class Client(Protocol):
    def emit(self, event: Any) -> None: ...


def describe_event(event: object) -> str:
    """Short identification of an event for log lines (never its payload)."""
    event_type = getattr(getattr(event, "eventType", None), "value", None)
    if event_type is None:
        event_type = type(event).__name__ if not isinstance(event, dict) else event.get("name", "?")
    job = getattr(getattr(event, "job", None), "name", "?")
    run_id = getattr(getattr(event, "run", None), "runId", "?")
    return f"{event_type} event of job `{job}` (run {run_id})"


def _event_tags(client: Client, event: object) -> dict[str, str | None]:
    """``event_type`` and ``transport_type`` tags, as today's provider puts on its emit metrics."""
    event_type = getattr(getattr(event, "eventType", None), "value", None)
    transport = getattr(getattr(client, "transport", None), "kind", None)
    return {
        "event_type": event_type.lower() if isinstance(event_type, str) else None,
        "transport_type": str(transport).lower() if transport else None,
    }


def _event_size(event: object) -> int | None:
    from openlineage.client.serde import Serde

    try:
        return len(Serde.to_json(event).encode("utf-8"))
    except Exception:  # noqa: BLE001 - a size is best effort; the send reports real errors
        return None


def send_event(client: Client, event: object) -> None:
    """Send one event through the client, recording duration, outcome and (metrics on) size."""
    tags = _event_tags(client, event)
    if metrics.enabled() and (size := _event_size(event)) is not None:
        metrics.gauge("event.size", size, tags)
    started = time.monotonic()
    try:
        client.emit(event)
    except Exception:
        metrics.incr("emit.failed")
        raise
    finally:
        elapsed = time.monotonic() - started
        metrics.timing("emit.duration", elapsed)
        metrics.timing("emit.attempts", elapsed, tags)
    metrics.incr("emit.success")


class Queued(Protocol):
    essential: bool


def drop_one(
    queues: Sequence[collections.deque[Any]],
    dropped_so_far: int,
    protected: tuple[Any, ...] = (),
    keep: Callable[[Any], bool] | None = None,
) -> int:
    """
    Make room: take out the oldest extra event of ``queues`` (read in order, oldest first), or the
    oldest event when all are essential; never one of ``protected``.

    ``keep`` may save the event elsewhere (the spool); only when it does not is the event counted as
    dropped (one WARNING line per drop, never the payload). Returns the new count of dropped events.
    """
    first = victim = None
    for queue in queues:
        for item in queue:
            if any(item is kept for kept in protected):
                continue
            first = first or (queue, item)
            if not item.essential:
                victim = (queue, item)
                break
        if victim is not None:
            break
    victim = victim or first
    if victim is None:
        return dropped_so_far
    queue, item = victim
    queue.remove(item)
    if keep is not None and keep(item):
        log.debug("OpenLineage send queue is full; the oldest event went to the spool")
        return dropped_so_far
    metrics.incr("emit.dropped")
    log.warning("OpenLineage send queue is full; dropped the oldest event (%d so far)", dropped_so_far + 1)
    return dropped_so_far + 1


def close_client(client: Client | None, timeout: float) -> bool:
    """
    Close ``client`` waiting at most ``timeout`` seconds; True when it delivered all it buffered.

    Plain transports close at once; buffering ones (``async_http``, Kafka) deliver their queue here.
    A client without ``close`` has nothing to deliver.
    """
    close = getattr(client, "close", None)
    if close is None:
        return True
    try:
        result = close(max(_MIN_CLOSE_TIMEOUT, timeout))
    except Exception as err:  # noqa: BLE001 - a transport failing to close loses only its own events
        metrics.incr("emit.failed")
        log.warning("OpenLineage client did not close cleanly: %s: %s", type(err).__name__, err)
        return False
    return result is not False


__all__ = ["close_client", "describe_event", "drop_one", "send_event"]
