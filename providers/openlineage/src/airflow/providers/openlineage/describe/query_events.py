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
Child ``QUERY`` jobs of a task: one SQL statement (or external query) run by the task.

Each becomes a START and a COMPLETE/FAIL event with a fresh run id (UUIDv7 at the task's logical
date), the task's run as parent and the task's root as root. Used for SQL reported through hook
lineage and by :func:`airflow.providers.openlineage.api.emit_query_lineage`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.facet_v2 import error_message_run, external_query_run
from openlineage.client.uuid import generate_new_uuid

from airflow.providers.openlineage.describe.events import (
    TaskRunIdentity,
    _iso_time,
    _job_type,
    _parent_facet,
    get_dag_run_from_ti,
    utcnow,
)
from airflow.providers.openlineage.describe.run_ids import _PRODUCER, get_dag_run_logical_date


def external_query_facet(query_id: Any, source: str | None) -> dict[str, Any]:
    """``externalQuery`` when both the query id and the system it ran on are known."""
    if query_id is None or not source:
        return {}
    return {
        "externalQuery": external_query_run.ExternalQueryRunFacet(
            externalQueryId=str(query_id), source=source
        )
    }


def build_query_events(
    task_instance: Any,
    *,
    job_name: str,
    inputs: list[Any] | None = None,
    outputs: list[Any] | None = None,
    run_facets: dict[str, Any] | None = None,
    job_facets: dict[str, Any] | None = None,
    start_time: dt.datetime | None = None,
    end_time: dt.datetime | None = None,
    is_successful: bool = True,
    error_message: str | None = None,
) -> list[RunEvent]:
    """START and COMPLETE (or FAIL) of one query job, parented to ``task_instance``'s run."""
    dag_run = get_dag_run_from_ti(task_instance)
    identity = TaskRunIdentity(task_instance, dag_run)
    run_id = str(generate_new_uuid(instant=get_dag_run_logical_date(dag_run)))
    facets: dict[str, Any] = dict(run_facets or {})
    if not is_successful and error_message:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error_message, programmingLanguage="SQL"
        )
    facets.update(_parent_facet(identity.run_id, identity.job_name, identity.namespace, identity.root))
    jobs = {**(job_facets or {}), **_job_type("QUERY")}
    now = utcnow()
    events = []
    for state, time in (
        (RunState.START, start_time or now),
        (RunState.COMPLETE if is_successful else RunState.FAIL, end_time or now),
    ):
        events.append(
            RunEvent(
                eventType=state,
                eventTime=_iso_time(time),
                # A dict per event: facets the client adds while sending one event (environment
                # variables, tags) must not leak into, or be taken as already set on, the other.
                run=Run(runId=run_id, facets=dict(facets)),
                job=Job(namespace=identity.namespace, name=job_name, facets=dict(jobs)),
                inputs=list(inputs or []),
                outputs=list(outputs or []),
                producer=_PRODUCER,
            )
        )
    return events
