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
Events built from plain values, for callers of ``OpenLineageAdapter.start_task`` / ``dag_started`` / ...

2.20.3's adapter built every event from loose arguments (run id, times, owners, tags, an
``OperatorLineage``); code written against it still calls those methods. The listener does not use
them: its events come from :mod:`~airflow.providers.openlineage.describe.events`. These reuse that module's
facet builders, so both give the same facets for the same values.
"""

from __future__ import annotations

from typing import Any, Literal

from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.facet_v2 import error_message_run, nominal_time_run

from airflow.providers.openlineage import conf
from airflow.providers.openlineage.describe.events import (
    _doc_facet,
    _error_facet,
    _job_type,
    _owners_facet,
    _tags_facet,
    debug_facet,
)
from airflow.providers.openlineage.describe.run_ids import _PRODUCER, get_processing_engine_facet


def run_of(
    run_id: str,
    nominal_start_time: str | None = None,
    nominal_end_time: str | None = None,
    run_facets: dict[str, Any] | None = None,
) -> Run:
    facets = dict(run_facets or {})
    if nominal_start_time:
        facets["nominalTime"] = nominal_time_run.NominalTimeRunFacet(
            nominalStartTime=nominal_start_time, nominalEndTime=nominal_end_time
        )
    facets.update(get_processing_engine_facet())
    return Run(runId=run_id, facets=facets)


def job_of(
    job_name: str,
    job_type: Literal["DAG", "TASK"],
    job_description: str | None = None,
    job_description_type: str | None = None,
    owners: list[str] | None = None,
    tags: list[str] | None = None,
    job_facets: dict[str, Any] | None = None,
) -> Job:
    facets = dict(job_facets or {})
    facets.update(_doc_facet(job_description, job_description_type or "text/plain"))
    facets.update(_owners_facet(",".join(owners or ())))
    facets.update(_tags_facet(tags))
    facets.update(_job_type(job_type))
    return Job(namespace=conf.namespace(), name=job_name, facets=facets)


def task_event(
    event_type: RunState,
    *,
    run_id: str,
    job_name: str,
    event_time: str,
    task: Any,
    nominal_start_time: str | None,
    nominal_end_time: str | None,
    owners: list[str] | None,
    tags: list[str] | None,
    job_description: str | None,
    job_description_type: str | None = None,
    run_facets: dict[str, Any] | None = None,
    error: BaseException | str | None = None,
) -> RunEvent:
    """A task event; ``task`` is the ``OperatorLineage`` (or None) whose datasets and facets it carries."""
    facets = {**(getattr(task, "run_facets", None) or {}), **(run_facets or {})}
    if event_type == RunState.FAIL:
        facets.update(_error_facet(error))
    return RunEvent(
        eventType=event_type,
        eventTime=event_time,
        run=run_of(run_id, nominal_start_time, nominal_end_time, facets),
        job=job_of(
            job_name,
            "TASK",
            job_description,
            job_description_type,
            owners,
            tags,
            getattr(task, "job_facets", None),
        ),
        inputs=list(getattr(task, "inputs", None) or []),
        outputs=list(getattr(task, "outputs", None) or []),
        producer=_PRODUCER,
    )


def dag_event(
    event_type: RunState,
    *,
    dag_id: str,
    ol_run_id: str,
    event_time: str,
    nominal_start_time: str | None,
    nominal_end_time: str | None,
    owners: list[str] | None,
    tags: list[str] | None,
    job_description: str | None,
    job_description_type: str | None,
    run_facets: dict[str, Any],
    job_facets: dict[str, Any] | None = None,
    msg: str | None = None,
) -> RunEvent:
    """A DAG-run event; ``run_facets`` already holds what needs the database (state, dependencies)."""
    facets = dict(run_facets)
    facets.update(debug_facet())
    if event_type == RunState.FAIL:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=msg or "", programmingLanguage="python"
        )
    return RunEvent(
        eventType=event_type,
        eventTime=event_time,
        run=run_of(ol_run_id, nominal_start_time, nominal_end_time, facets),
        job=job_of(dag_id, "DAG", job_description, job_description_type, owners, tags, job_facets),
        inputs=[],
        outputs=[],
        producer=_PRODUCER,
    )
