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
DAG-run lineage in the long-lived processes: what the listener's DAG-run hooks hand their work to.

The hook only copies the DAG run into a
:class:`~airflow.providers.openlineage.describe.snapshots.DagRunSnapshot` (in the scheduler: its plain values,
for the DAG-run helper process, which loads the DAG itself) and queues :func:`dag_run_event`; the
emission policy, event building, redaction and the task-state read of a terminal event all run on an
emitter's thread, in the scheduler's case in the helper process.
"""

from __future__ import annotations

import logging
from typing import Any

from openlineage.client.event_v2 import RunEvent, RunState

from airflow.providers.openlineage.describe.airflow_description import fetch_dag_run_records
from airflow.providers.openlineage.describe.emission_policy import resolve_dag_emission_policy
from airflow.providers.openlineage.describe.events import add_dag_run_state_facet, build_dag_run_event
from airflow.providers.openlineage.describe.job_dependencies import is_asset_triggered, job_dependency_facet
from airflow.providers.openlineage.describe.run_ids import safe_getattr
from airflow.providers.openlineage.describe.snapshots import DagRunSnapshot
from airflow.providers.openlineage.redact.redaction import redact_event

log = logging.getLogger(__name__)


def dag_run_event(state: RunState, snapshot: DagRunSnapshot, msg: str | None = None) -> RunEvent | None:
    """The DAG run's event, or None when the emission policy turns the DAG's events off."""
    dag_id = safe_getattr(snapshot, "dag_id")
    if not resolve_dag_emission_policy(dag_id, safe_getattr(snapshot, "dag")).emit:
        log.info("OpenLineage events of DAG `%s` are turned off by the emission policy", dag_id)
        return None
    try:
        records = fetch_dag_run_records(dag_id, safe_getattr(snapshot, "run_id"), skip=_known(snapshot))
        snapshot = snapshot.with_values(**records)
    except Exception as err:  # noqa: BLE001 - versions and deadlines are left out, the event still goes
        log.debug(
            "OpenLineage could not read the DAG versions and deadlines of %s: %s", snapshot.route_key, err
        )
    event = build_dag_run_event(state, snapshot, msg)
    if is_asset_triggered(snapshot):
        try:
            event.run.facets = event.run.facets or {}
            event.run.facets.update(job_dependency_facet(dag_id, safe_getattr(snapshot, "run_id")))
        except Exception as err:  # noqa: BLE001 - the facet is left out, the event still goes
            log.warning(
                "OpenLineage `jobDependencies` of %s left out: %s: %s",
                snapshot.route_key,
                type(err).__name__,
                err,
            )
    event = redact_event(event)
    if state != RunState.START:
        event = add_dag_run_state_facet(
            event, dag_id=dag_id, run_id=safe_getattr(snapshot, "run_id"), dag_run_state=snapshot.state_value
        )
    return event


def _known(snapshot: DagRunSnapshot) -> set[str]:
    """What the database need not be asked for: what the hook read, and deadlines of a DAG without alerts."""
    known = {name for name in ("note", "deadlines") if hasattr(snapshot, name)}
    dag = safe_getattr(snapshot, "dag")
    if dag is not None and not safe_getattr(dag, "deadline"):
        known.add("deadlines")  # the hook reads a run's deadlines whenever its DAG has alerts
    return known


def get_airflow_state_run_facet(
    dag_id: str, run_id: str, task_ids: list[str], dag_run_state: Any
) -> dict[str, Any]:
    """``{"airflowState": ...}``: the run's state and its tasks' states and durations (read from the DB)."""
    from airflow.providers.openlineage.describe.airflow_description import fetch_dag_run_state, to_json_value
    from airflow.providers.openlineage.describe.facets import AirflowStateRunFacet

    try:
        fields = fetch_dag_run_state(dag_id, run_id, to_json_value(dag_run_state))
    except Exception as err:  # noqa: BLE001 - a facet, never an error for the caller
        log.warning(
            "OpenLineage `airflowState` of %s/%s left out: %s: %s", dag_id, run_id, type(err).__name__, err
        )
        return {}
    if task_ids:
        wanted = set(task_ids)
        for key in ("tasksState", "tasksDuration"):
            fields[key] = {task_id: v for task_id, v in fields[key].items() if task_id in wanted}
    return {"airflowState": AirflowStateRunFacet(**fields)}


def get_dag_job_dependency_facet(dag_id: str, dag_run_id: str) -> dict[str, Any]:
    """``{"jobDependencies": ...}`` of an asset-triggered DAG run; ``{}`` when none or on any problem."""
    from airflow.providers.openlineage.describe.job_dependencies import job_dependency_facet

    try:
        return job_dependency_facet(dag_id, dag_run_id)
    except Exception as err:  # noqa: BLE001 - a facet, never an error for the caller
        log.warning(
            "OpenLineage `jobDependencies` of %s/%s left out: %s: %s",
            dag_id,
            dag_run_id,
            type(err).__name__,
            err,
        )
        return {}


__all__ = ["dag_run_event", "get_airflow_state_run_facet", "get_dag_job_dependency_facet"]
