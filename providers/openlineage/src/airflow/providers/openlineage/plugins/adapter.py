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
The OpenLineage adapter: the client, run-id builders and synchronous emission.

Kept for the code of other providers that import it (``OpenLineageAdapter.build_*_run_id``,
``get_openlineage_listener().adapter.emit``). :meth:`OpenLineageAdapter.emit` never blocks its
caller on the backend: inside a running task the event joins that task attempt's bounded sender
(fork or thread, sent before the attempt's terminal event, within its ``execution_timeout``);
elsewhere it goes to the process's background emitter.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from openlineage.client.event_v2 import RunState

from airflow.providers.openlineage.config import client_config
from airflow.providers.openlineage.describe.run_ids import (
    _PRODUCER,
    build_dag_run_ol_run_id,
    build_task_instance_ol_run_id,
)
from airflow.providers.openlineage.emission import extra_events
from airflow.providers.openlineage.plugins import adapter_events
from airflow.providers.openlineage.redact.redaction import redact_event

log = logging.getLogger(__name__)

__all__ = ["_PRODUCER", "OpenLineageAdapter", "RunState"]


class OpenLineageAdapter:
    """Owns this process's OpenLineage client; emits synchronously (for callers that want that)."""

    def __init__(self, client: Any = None, secrets_masker: Any = None) -> None:
        self._client = client
        self._secrets_masker = secrets_masker
        self._lock = threading.Lock()

    def get_openlineage_config(self) -> dict[str, Any] | None:
        """The resolved client configuration (None: the client discovers its own)."""
        return client_config.resolved_client_config()

    def get_or_create_openlineage_client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = client_config.build_client(self.get_openlineage_config())
            return self._client

    @staticmethod
    def build_dag_run_id(dag_id: str, logical_date: Any, clear_number: int) -> str:
        return build_dag_run_ol_run_id(dag_id=dag_id, logical_date=logical_date, clear_number=clear_number)

    @staticmethod
    def build_task_instance_run_id(
        dag_id: str, task_id: str, try_number: int, logical_date: Any, map_index: int
    ) -> str:
        return build_task_instance_ol_run_id(
            dag_id=dag_id,
            task_id=task_id,
            try_number=try_number,
            logical_date=logical_date,
            map_index=map_index,
        )

    def emit(self, event: Any) -> Any:
        """Redact ``event`` and hand it to a bounded sender; never raises. Returns the redacted event."""
        try:
            event = redact_event(event)
            if self._client is not None:  # a caller-supplied client: the caller chose synchronous sending
                self._client.emit(event)
                return event
            extra_events.emit_extra(event, self.get_openlineage_config())
        except Exception as err:  # noqa: BLE001 - lineage never raises into its caller
            log.warning("Failed to emit OpenLineage event: %s: %s", type(err).__name__, err)
        return event

    # -- 2.20.3's per-event methods, for code that builds events from loose values ------------

    def start_task(
        self,
        run_id: str,
        job_name: str,
        event_time: str,
        job_description: str | None,
        nominal_start_time: str | None,
        nominal_end_time: str | None,
        owners: list[str] | None,
        tags: list[str] | None,
        task: Any,
        job_description_type: str | None = None,
        run_facets: dict[str, Any] | None = None,
    ) -> Any:
        """Emit a task START; ``task`` is the ``OperatorLineage`` (or None) it carries."""
        return self._emit_built(
            "task START",
            lambda: adapter_events.task_event(
                RunState.START,
                run_id=run_id,
                job_name=job_name,
                event_time=event_time,
                task=task,
                nominal_start_time=nominal_start_time,
                nominal_end_time=nominal_end_time,
                owners=owners,
                tags=tags,
                job_description=job_description,
                job_description_type=job_description_type,
                run_facets=run_facets,
            ),
        )

    def complete_task(
        self,
        run_id: str,
        job_name: str,
        end_time: str,
        task: Any,
        nominal_start_time: str | None,
        nominal_end_time: str | None,
        owners: list[str] | None,
        tags: list[str] | None,
        job_description: str | None,
        job_description_type: str | None = None,
        run_facets: dict[str, Any] | None = None,
    ) -> Any:
        """Emit a task COMPLETE."""
        return self._emit_built(
            "task COMPLETE",
            lambda: adapter_events.task_event(
                RunState.COMPLETE,
                run_id=run_id,
                job_name=job_name,
                event_time=end_time,
                task=task,
                nominal_start_time=nominal_start_time,
                nominal_end_time=nominal_end_time,
                owners=owners,
                tags=tags,
                job_description=job_description,
                job_description_type=job_description_type,
                run_facets=run_facets,
            ),
        )

    def fail_task(
        self,
        run_id: str,
        job_name: str,
        end_time: str,
        task: Any,
        nominal_start_time: str | None,
        nominal_end_time: str | None,
        owners: list[str] | None,
        tags: list[str] | None,
        job_description: str | None,
        job_description_type: str | None = None,
        error: BaseException | str | None = None,
        run_facets: dict[str, Any] | None = None,
    ) -> Any:
        """Emit a task FAIL, with an ``errorMessage`` facet when ``error`` is given."""
        return self._emit_built(
            "task FAIL",
            lambda: adapter_events.task_event(
                RunState.FAIL,
                run_id=run_id,
                job_name=job_name,
                event_time=end_time,
                task=task,
                nominal_start_time=nominal_start_time,
                nominal_end_time=nominal_end_time,
                owners=owners,
                tags=tags,
                job_description=job_description,
                job_description_type=job_description_type,
                run_facets=run_facets,
                error=error,
            ),
        )

    def dag_started(
        self,
        dag_id: str,
        run_id: str,
        logical_date: Any,
        start_date: Any,
        nominal_start_time: str | None,
        nominal_end_time: str | None,
        owners: list[str] | None,
        tags: list[str],
        run_facets: dict[str, Any],
        clear_number: int,
        job_description: str | None,
        is_asset_triggered: bool,
        job_description_type: str | None = None,
        job_facets: dict[str, Any] | None = None,
    ) -> Any:
        """Emit a DAG-run START (with ``jobDependencies`` for an asset-triggered run: a DB read here)."""

        def build() -> Any:
            return adapter_events.dag_event(
                RunState.START,
                dag_id=dag_id,
                ol_run_id=self.build_dag_run_id(dag_id, logical_date, clear_number),
                event_time=start_date.isoformat(),
                nominal_start_time=nominal_start_time,
                nominal_end_time=nominal_end_time,
                owners=owners,
                tags=tags,
                job_description=job_description,
                job_description_type=job_description_type,
                run_facets={**run_facets, **_dependencies(dag_id, run_id, is_asset_triggered)},
                job_facets=job_facets,
            )

        return self._emit_built("DAG run START", build)

    def dag_success(
        self,
        dag_id: str,
        run_id: str,
        end_date: Any,
        logical_date: Any,
        nominal_start_time: str | None,
        nominal_end_time: str | None,
        tags: list[str] | None,
        clear_number: int,
        dag_run_state: Any,
        task_ids: list[str],
        owners: list[str] | None,
        run_facets: dict[str, Any],
        job_description: str | None,
        is_asset_triggered: bool,
        job_description_type: str | None = None,
    ) -> Any:
        """Emit a DAG-run COMPLETE with ``airflowState`` (read from the DB here)."""
        return self._emit_dag_end(
            RunState.COMPLETE, dag_id, run_id, end_date, logical_date, nominal_start_time,
            nominal_end_time, tags, clear_number, dag_run_state, task_ids, owners, run_facets,
            job_description, is_asset_triggered, job_description_type, None,
        )  # fmt: skip

    def dag_failed(
        self,
        dag_id: str,
        run_id: str,
        end_date: Any,
        logical_date: Any,
        nominal_start_time: str | None,
        nominal_end_time: str | None,
        tags: list[str] | None,
        clear_number: int,
        dag_run_state: Any,
        task_ids: list[str],
        owners: list[str] | None,
        msg: str,
        run_facets: dict[str, Any],
        job_description: str | None,
        is_asset_triggered: bool,
        job_description_type: str | None = None,
    ) -> Any:
        """Emit a DAG-run FAIL with ``airflowState`` and ``msg`` as its ``errorMessage``."""
        return self._emit_dag_end(
            RunState.FAIL, dag_id, run_id, end_date, logical_date, nominal_start_time,
            nominal_end_time, tags, clear_number, dag_run_state, task_ids, owners, run_facets,
            job_description, is_asset_triggered, job_description_type, msg,
        )  # fmt: skip

    def _emit_dag_end(
        self,
        event_type: RunState,
        dag_id: str,
        run_id: str,
        end_date: Any,
        logical_date: Any,
        nominal_start_time: str | None,
        nominal_end_time: str | None,
        tags: list[str] | None,
        clear_number: int,
        dag_run_state: Any,
        task_ids: list[str],
        owners: list[str] | None,
        run_facets: dict[str, Any],
        job_description: str | None,
        is_asset_triggered: bool,
        job_description_type: str | None,
        msg: str | None,
    ) -> Any:
        from airflow.providers.openlineage.describe.dag_run_lineage import get_airflow_state_run_facet

        def build() -> Any:
            facets = {
                **get_airflow_state_run_facet(dag_id, run_id, task_ids, dag_run_state),
                **_dependencies(dag_id, run_id, is_asset_triggered),
                **run_facets,
            }
            return adapter_events.dag_event(
                event_type,
                dag_id=dag_id,
                ol_run_id=self.build_dag_run_id(dag_id, logical_date, clear_number),
                event_time=end_date.isoformat(),
                nominal_start_time=nominal_start_time,
                nominal_end_time=nominal_end_time,
                owners=owners,
                tags=tags or [],
                job_description=job_description,
                job_description_type=job_description_type,
                run_facets=facets,
                msg=msg,
            )

        return self._emit_built(f"DAG run {event_type.value}", build)

    def _emit_built(self, what: str, build: Any) -> Any:
        """Build and emit; a failure to build is one WARNING and a None result, never an exception."""
        try:
            event = build()
        except Exception as err:  # noqa: BLE001 - lineage never raises into its caller
            log.warning("OpenLineage could not build the %s event: %s: %s", what, type(err).__name__, err)
            return None
        return self.emit(event)


def _dependencies(dag_id: str, run_id: str, is_asset_triggered: bool) -> dict[str, Any]:
    if not is_asset_triggered:
        return {}
    from airflow.providers.openlineage.describe.dag_run_lineage import get_dag_job_dependency_facet

    return get_dag_job_dependency_facet(dag_id, run_id)
