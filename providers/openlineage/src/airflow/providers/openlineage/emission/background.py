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
Emission for long-lived processes (scheduler, API server, triggerer, DAG processor): never forks.

A fixed set of :class:`~.thread_sender.ThreadSender` workers (``dag_state_change_process_pool_size``), each
with its own bounded queue and its own reused client. Events are routed by run id, so the events of
one run go to one worker and keep their order. Submitting never blocks the caller: when a queue is
full its oldest event is dropped and counted. A worker whose thread died is restarted on the next
submit. At interpreter exit the workers get one ``execution_timeout`` deadline, together, to send what
they hold and close their clients (a buffering transport delivers its queue then); what is left is
counted and logged (never the payloads). With a spool (``[openlineage] spool_dir``) what the workers
cannot deliver (backend error, full queue, exit drain timeout) is kept on disk instead, and a
:class:`~.replay.BackgroundReplayer` thread sends spooled events, from every process, again.
"""

from __future__ import annotations

import atexit
import logging
import threading
import zlib
from collections.abc import Callable
from typing import Any

from airflow.providers.openlineage.emission.deadline import FixedDeadline
from airflow.providers.openlineage.emission.replay import BackgroundReplayer
from airflow.providers.openlineage.emission.spool import Spool, configured_spool
from airflow.providers.openlineage.emission.spooling import Spooling
from airflow.providers.openlineage.emission.thread_sender import ThreadSender

log = logging.getLogger(__name__)


class BackgroundEmitter:
    """Bounded, non-blocking, ordered-per-run emission through a few daemon threads."""

    def __init__(
        self,
        client_factory: Callable[[], Any],
        workers: int,
        drain_timeout: float,
        max_queue_size: int = 1000,
        spool: Spool | None = None,
    ) -> None:
        self._workers = [
            ThreadSender(
                client_factory,
                name=f"openlineage-emitter-{i}",
                max_queue_size=max_queue_size,
                spooling=Spooling(spool),
            )
            for i in range(max(1, workers))
        ]
        self._drain_timeout = drain_timeout
        self._closed = False
        self.replayer = BackgroundReplayer(spool, client_factory) if spool is not None else None
        if self.replayer is not None:
            self.replayer.start()
        atexit.register(self.shutdown)

    def submit(self, event: Any) -> bool:
        """Queue a built ``event`` on the worker owning its run; never blocks."""
        return self.submit_build(str(getattr(getattr(event, "run", None), "runId", "")), event)

    def submit_build(self, route_key: str, build: Any) -> bool:
        """
        Queue work for the worker owning ``route_key``; never blocks.

        ``build`` is an event, or a callable run on the worker thread that returns the event to send
        (or None to send nothing): building, redaction and DB reads stay off the caller's thread.
        Work with the same key goes to the same worker, in order.
        """
        if self._closed:
            return False
        worker = self._workers[zlib.crc32(route_key.encode()) % len(self._workers)]
        return worker.submit(build)

    def flush(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for every worker to go idle."""
        deadline = FixedDeadline(timeout)
        return all([worker.flush(deadline) for worker in self._workers])

    @property
    def counters(self) -> dict[str, int]:
        return {
            "sent": sum(w.sent for w in self._workers),
            "failed": sum(w.failed for w in self._workers),
            "dropped": sum(w.dropped for w in self._workers),
            "spooled": sum(w.spooled for w in self._workers),
            "pending": sum(w.pending for w in self._workers),
        }

    def shutdown(self) -> None:
        """Drain for at most the configured time, then give up and log how many events were left."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.shutdown)
        deadline = FixedDeadline(self._drain_timeout)
        for worker in self._workers:  # each close starts the worker's own close; then they run together
            worker.begin_close(deadline)
        if self.replayer is not None:
            self.replayer.stop()
        spooled_before = sum(w.spooled for w in self._workers)
        for worker in self._workers:
            if not worker.close(deadline):
                worker.abandon(deadline)  # with a spool, what is left is written to disk
        spooled = sum(w.spooled for w in self._workers) - spooled_before
        left = sum(w.pending for w in self._workers) - spooled
        if spooled:
            log.warning("OpenLineage: %d event(s) not sent before shutdown were spooled for replay", spooled)
        if left > 0:
            log.warning("OpenLineage: %d event(s) not sent before shutdown (backend too slow or down)", left)


_lock = threading.Lock()
_emitter: BackgroundEmitter | None = None


def get_background_emitter(client_factory: Callable[[], Any]) -> BackgroundEmitter:
    """The process-wide emitter, created on first use."""
    global _emitter
    with _lock:
        if _emitter is None:
            from airflow.providers.openlineage import conf

            _emitter = BackgroundEmitter(
                client_factory,
                workers=conf.dag_state_change_process_pool_size(),
                drain_timeout=conf.execution_timeout(),
                spool=configured_spool(),
            )
        return _emitter
