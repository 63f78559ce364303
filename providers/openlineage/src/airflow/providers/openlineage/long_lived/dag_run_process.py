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
The scheduler's DAG-run event helper: a separate interpreter that builds and sends DAG-run events.

The scheduler's hook copies the DAG run's plain values (:meth:`.DagRunSnapshot.portable_values`) and
hands them to :class:`~.emission.emitter_process.EmitterProcess`; this process reads them from its
stdin, loads the run's serialized DAG from the metadata database itself (cached per DAG version, as
the scheduler resolves it), and builds, redacts and sends the event on a
:class:`~.emission.background.BackgroundEmitter` of its own. None of that CPU is spent in the
scheduler's interpreter. On end of input (the scheduler closed the pipe, or died) or SIGTERM it drains
for at most ``execution_timeout`` less a margin and exits. It runs at a lower CPU priority than the
scheduler (``HELPER_NICENESS``), so on a busy machine the loop goes first. SIGINT (a terminal's
Ctrl-C reaching the whole process group) is left to the scheduler, which then closes the pipe.
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from openlineage.client.event_v2 import RunEvent, RunState

from airflow.providers.openlineage import conf
from airflow.providers.openlineage.config import client_config
from airflow.providers.openlineage.describe.dag_run_lineage import dag_run_event
from airflow.providers.openlineage.describe.snapshots import DagRunSnapshot
from airflow.providers.openlineage.emission.background import BackgroundEmitter
from airflow.providers.openlineage.emission.spool import configured_spool
from airflow.providers.openlineage.long_lived.emitter_process import read_message

log = logging.getLogger(__name__)

PROCESS_TITLE = "openlineage-dag-run-emitter"
# The helper's own drain ends this much before the parent's deadline, so it can say what it left.
DRAIN_MARGIN = 0.5
# When the machine's cores are all busy, the scheduler's loop goes first: lineage can wait (its
# queue is bounded), the loop cannot.
HELPER_NICENESS = 10
# A message is held until no other came for QUIET_SECONDS, at most MAX_DELAY_SECONDS (see ``serve``).
QUIET_SECONDS = 0.15
MAX_DELAY_SECONDS = 1.0
_END = object()


def helper_argv() -> list[str]:
    """How the scheduler starts this helper (its name shows in ``ps``)."""
    return [sys.executable, "-c", f"from {__name__} import main; main()", PROCESS_TITLE]


class DagLoader:
    """
    The run's serialized DAG, as the scheduler resolves it; each DAG version is deserialised once.

    In a versioned bundle a run keeps the version it was created with. Otherwise the scheduler
    uses the DAG's latest version: a new run's START event takes the version the run was just
    created with, and later events ask for the latest one, remembered for ``LATEST_FOR`` seconds
    (a DAG's new version comes from a parse of its file, every ``min_file_process_interval``, 30 s
    by default), so a burst of events of one DAG asks the database once.
    """

    LATEST_FOR = 2.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._bag: Any = None
        self._clock = clock
        self._latest: dict[str, tuple[float, Any]] = {}

    def dag_of(self, snapshot: DagRunSnapshot, state: RunState | None = None) -> Any:
        from airflow.utils.session import create_session

        with self._lock, create_session() as session:
            if self._bag is None:
                from airflow.models.dagbag import DBDagBag

                self._bag = DBDagBag()
            version_id = getattr(snapshot, "created_dag_version_id", None)
            if not getattr(snapshot, "bundle_version", None) and (
                state != RunState.START or version_id is None
            ):
                dag_id: str = snapshot.dag_id  # type: ignore[attr-defined]  # fields set from values
                version_id = self._latest_version_id(dag_id, session) or version_id
            if version_id is None:
                return None
            get_dag = getattr(self._bag, "get_dag", None) or self._bag._get_dag  # 3.1 has only _get_dag
            return get_dag(version_id=version_id, session=session)

    def _latest_version_id(self, dag_id: str, session: Any) -> Any:
        now = self._clock()
        read_at, version_id = self._latest.get(dag_id, (None, None))
        if read_at is None or now - read_at >= self.LATEST_FOR:
            from airflow.models.dag_version import DagVersion

            latest = DagVersion.get_latest_version(dag_id, session=session)
            version_id = latest.id if latest is not None else None
            self._latest[dag_id] = (now, version_id)
        return version_id


def build_event(
    state: RunState, snapshot: DagRunSnapshot, msg: str | None, loader: DagLoader
) -> RunEvent | None:
    """On the helper's emitter thread: the DAG run's event, its DAG read from the database."""
    try:
        dag = loader.dag_of(snapshot, state)
    except Exception as err:  # noqa: BLE001 - the event still goes, without the DAG's facets
        log.warning(
            "OpenLineage could not load the DAG of %s: %s: %s", snapshot.route_key, type(err).__name__, err
        )
        dag = None
    if dag is not None:
        snapshot = snapshot.with_values(dag=dag)
    return dag_run_event(state, snapshot, msg)


_STOP = object()  # SIGTERM: stop reading and drain


def _read_into(stream: Any, inbox: queue.SimpleQueue) -> None:
    """Reader thread: every message of ``stream`` into ``inbox``, then ``_END`` (end of input or error)."""
    try:
        while True:
            inbox.put(read_message(stream))
    except EOFError:
        pass
    except Exception as err:  # noqa: BLE001 - a broken pipe ends input like a closed one
        log.warning("OpenLineage DAG-run event helper: input ended: %s: %s", type(err).__name__, err)
    finally:
        inbox.put(_END)


def serve(
    stream: Any,
    emitter: BackgroundEmitter,
    loader: DagLoader,
    *,
    quiet: float = QUIET_SECONDS,
    max_delay: float = MAX_DELAY_SECONDS,
    stop_on_sigterm: bool = False,
) -> int:
    """
    Queue one event build per message until end of input; returns how many were read.

    The scheduler sends a run's message from inside a scheduling loop, in the middle of its
    transaction. Building reads the metadata database (the run's task instances, its DAG), so
    messages are held until no new one came for ``quiet`` seconds (the loop has moved on) or the
    oldest waited ``max_delay``: the reads then fall between the scheduler's loops instead of
    competing with them (SQLite blocks a writer while anyone reads).

    With ``stop_on_sigterm`` a SIGTERM ends the reading: its handler only queues a stop marker
    (``SimpleQueue.put`` is safe in a signal handler), so it never raises inside a dispatch, and every
    message read is submitted exactly once. The handler found is put back on return.
    """
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    previous = (
        signal.signal(signal.SIGTERM, lambda signum, frame: inbox.put(_STOP)) if stop_on_sigterm else None
    )
    try:
        return _serve(inbox, stream, emitter, loader, quiet, max_delay)
    finally:
        if stop_on_sigterm:
            signal.signal(signal.SIGTERM, previous)


def _serve(
    inbox: queue.SimpleQueue,
    stream: Any,
    emitter: BackgroundEmitter,
    loader: DagLoader,
    quiet: float,
    max_delay: float,
) -> int:
    threading.Thread(
        target=_read_into, args=(stream, inbox), name="openlineage-helper-reader", daemon=True
    ).start()
    read = 0
    held: list[tuple[Any, ...]] = []
    oldest = 0.0

    def dispatch() -> None:
        for state, values, msg in held:
            snapshot = DagRunSnapshot(**values)
            emitter.submit_build(
                snapshot.route_key, functools.partial(build_event, state, snapshot, msg, loader)
            )
        held.clear()

    while True:
        wait = None if not held else max(0.0, min(quiet, oldest + max_delay - time.monotonic()))
        try:
            message = inbox.get(timeout=wait)
        except queue.Empty:
            dispatch()
            continue
        if message is _END:
            break
        if message is _STOP:
            log.info("OpenLineage DAG-run event helper: SIGTERM, draining")
            break
        read += 1
        if not held:
            oldest = time.monotonic()
        held.append(message)
    dispatch()
    return read


def main() -> None:
    """Entry point of the helper process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        os.nice(HELPER_NICENESS)
    except OSError:  # not permitted here: the helper runs at the scheduler's priority
        pass
    try:
        config = client_config.resolved_client_config()
    except client_config.ClientConfigError:
        sys.exit(0)  # logged by client_config; the scheduler's own check logged it too
    timeout = float(conf.execution_timeout())
    emitter = BackgroundEmitter(
        lambda: client_config.build_client(config),
        workers=conf.dag_state_change_process_pool_size(),
        drain_timeout=max(0.1, timeout - DRAIN_MARGIN),
        spool=configured_spool(),
    )
    try:
        serve(sys.stdin.buffer, emitter, DagLoader(), stop_on_sigterm=True)
    finally:
        emitter.shutdown()


__all__ = ["PROCESS_TITLE", "DagLoader", "build_event", "helper_argv", "main", "serve"]
