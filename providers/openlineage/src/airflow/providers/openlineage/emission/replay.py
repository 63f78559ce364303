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
Sending spooled events again, oldest first, never twice at once, START before the terminal event.

:func:`replay` claims files in name order (the order they were spooled). A file whose run has an
older file this pass could not take (another process holds it, or its send failed) waits, so the
events of one run arrive in order even with several processes replaying. Files are sent in batches
through one client; a batch's files are deleted only once the client closed cleanly, because a
buffering transport (``async_http``) delivers only then. The first failed send ends the pass: the
backend is still down. Delivery is at least once: a process killed after sending and before deleting
leaves the file to be sent again (consumers deduplicate on run id + event type + event time).

:class:`BackgroundReplayer` runs passes from one daemon thread in the long-lived processes (scheduler,
API server, triggerer, DAG processor): soon after start, then every ``REPLAY_INTERVAL`` seconds, and
straight on while a pass had more to do. Task runners replay a few files themselves after their own
events went out (see the senders), within their own deadline.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from airflow.providers.openlineage.emission import metrics
from airflow.providers.openlineage.emission.base import Deadline
from airflow.providers.openlineage.emission.deadline import FixedDeadline
from airflow.providers.openlineage.emission.delivery import close_client, describe_event, send_event
from airflow.providers.openlineage.emission.spool import Claim, Spool
from airflow.providers.openlineage.emission.spooled_event import CorruptSpoolFile, decode

log = logging.getLogger(__name__)

BATCH_SIZE = 50
REPLAY_INTERVAL = 30.0
FIRST_PASS_DELAY = 1.0
PASS_BUDGET_SECONDS = 30.0
PASS_MAX_FILES = 2000
TASK_REPLAY_MAX_FILES = 10  # a task runner's share of a backlog: small, its slot is the user's
TASK_REPLAY_BUDGET_SECONDS = 0.5


@dataclasses.dataclass
class ReplayResult:
    """What one pass did."""

    sent: int = 0
    waiting: int = 0  # left for later: held by another process, or behind an earlier event of its run
    corrupt: int = 0
    failed: bool = False  # a send failed: the backend is still down
    error: str = ""

    def add(self, other: ReplayResult) -> None:
        self.sent += other.sent
        self.waiting += other.waiting
        self.corrupt += other.corrupt
        self.failed = self.failed or other.failed
        self.error = self.error or other.error


def replay(
    spool: Spool,
    client_factory: Callable[[], Any],
    deadline: Deadline,
    *,
    max_files: int | None = None,
    batch_size: int = BATCH_SIZE,
    on_sent: Callable[[int], None] | None = None,
) -> ReplayResult:
    """One pass over the spool: send what can be sent until ``deadline``, ``max_files`` or a failure."""
    result = ReplayResult()
    blocked: set[str] = set()  # runs whose older event stays on disk this pass
    entries = spool.entries()
    budget = len(entries) if max_files is None else min(max_files, len(entries))
    index = 0
    while index < len(entries) and result.sent < budget and not deadline.expired and not result.failed:
        batch: list[Claim] = []
        while index < len(entries) and len(batch) < min(batch_size, budget - result.sent):
            entry = entries[index]
            index += 1
            if entry.run_id in blocked:
                result.waiting += 1
                continue
            claim = spool.claim(entry)
            if claim is None:
                if os.path.exists(entry.file):  # another process holds it: its run's later events wait
                    blocked.add(entry.run_id)
                    result.waiting += 1
                continue
            batch.append(claim)
        if batch:
            result.add(_send_batch(spool, batch, client_factory, deadline, blocked, on_sent))
    result.waiting += len(entries) - index
    if result.sent:
        metrics.gauge("spool.bytes", sum(entry.size for entry in spool.entries()))
    return result


def _send_batch(
    spool: Spool,
    batch: list[Claim],
    client_factory: Callable[[], Any],
    deadline: Deadline,
    blocked: set[str],
    on_sent: Callable[[int], None] | None,
) -> ReplayResult:
    result = ReplayResult()
    sent: list[Claim] = []
    try:
        client = client_factory()
    except Exception as err:  # noqa: BLE001 - no client: nothing can be replayed now
        for claim in batch:
            claim.release()
        return ReplayResult(failed=True, error=f"{type(err).__name__}: {err}")
    for position, claim in enumerate(batch):
        if result.failed or deadline.expired:
            for left in batch[position:]:
                left.release()
            result.waiting += len(batch) - position
            break
        if claim.entry.run_id in blocked:  # an earlier event of its run failed in this batch
            claim.release()
            result.waiting += 1
            continue
        try:
            event, _ = decode(claim.read())
        except (CorruptSpoolFile, OSError) as err:
            spool.move_aside(claim, str(err))
            result.corrupt += 1
            continue
        try:
            send_event(client, event)
        except Exception as err:  # noqa: BLE001 - the backend is still down: stop the pass
            result.failed, result.error = True, f"{type(err).__name__}: {err}"
            blocked.add(claim.entry.run_id)
            log.debug("Replaying spooled %s failed: %s", describe_event(event), err)
            claim.release()
            continue
        sent.append(claim)
    delivered = close_client(client, deadline.remaining())
    for claim in sent:
        if delivered:
            claim.delete()
        else:
            blocked.add(claim.entry.run_id)
            claim.release()
    if delivered and sent:
        result.sent += len(sent)
        for _ in sent:
            metrics.incr("spool.replayed")
        if on_sent is not None:
            on_sent(len(sent))
    elif sent:
        result.failed, result.error = True, result.error or "the client did not deliver what it buffered"
        result.waiting += len(sent)
    return result


class BackgroundReplayer:
    """A daemon thread draining the spool in a long-lived process; one INFO line when it drains it."""

    def __init__(
        self,
        spool: Spool,
        client_factory: Callable[[], Any],
        *,
        interval: float = REPLAY_INTERVAL,
        first_delay: float = FIRST_PASS_DELAY,
    ) -> None:
        self._spool = spool
        self._client_factory = client_factory
        self._interval = interval
        self._first_delay = first_delay
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.passes = 0
        self.replayed = 0

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="openlineage-spool-replay", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        wait = self._first_delay
        while not self._stop.wait(wait):
            try:
                wait = self._interval if self.run_pass() else 0.0
            except Exception as err:  # noqa: BLE001 - the replayer must outlive any one bad pass
                log.warning("OpenLineage spool replay failed: %s: %s", type(err).__name__, err)
                wait = self._interval

    def run_pass(self) -> bool:
        """One bounded pass; True when there is nothing more to do before the next interval."""
        self.passes += 1
        if not self._spool.entries():
            return True
        result = replay(
            self._spool, self._client_factory, FixedDeadline(PASS_BUDGET_SECONDS), max_files=PASS_MAX_FILES
        )
        self.replayed += result.sent
        if result.failed:
            log.debug("OpenLineage spool replay paused, the backend is not answering: %s", result.error)
            return True
        left = self._spool.entries()
        if result.sent and not left:
            log.info("OpenLineage spool drained: %d spooled event(s) delivered", self.replayed)
            self.replayed = 0
        # More to send and not stuck behind another process: go on at once.
        return not left or result.waiting >= len(left)


__all__ = [
    "TASK_REPLAY_BUDGET_SECONDS",
    "TASK_REPLAY_MAX_FILES",
    "BackgroundReplayer",
    "ReplayResult",
    "replay",
]
