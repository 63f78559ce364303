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
Build OpenLineage run events from Airflow task instances and DAG runs.

Pure construction: nothing here sends, waits or talks to the supervisor beyond reading the objects
it is given. The listener decides *what* to emit and calls these builders in the task runner (or
the scheduler); the emission strategies only ever see finished events.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from typing import Any

from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    documentation_job,
    error_message_run,
    job_type_job,
    nominal_time_run,
    ownership_job,
    parent_run,
    set_producer,
    tags_job,
)

from airflow.providers.openlineage import conf
from airflow.providers.openlineage.config.imports import import_configured
from airflow.providers.openlineage.describe.airflow_description import (
    describe_dag,
    describe_dag_run,
    describe_dag_structure,
    describe_task,
    describe_task_instance,
)
from airflow.providers.openlineage.describe.assets import get_runtime_outlet_assets
from airflow.providers.openlineage.describe.facets import (
    AirflowDagRunFacet,
    AirflowDebugRunFacet,
    AirflowJobFacet,
    AirflowMappedTaskRunFacet,
    AirflowRunFacet,
)
from airflow.providers.openlineage.describe.run_ids import (
    _PRODUCER,
    build_dag_run_ol_run_id,
    build_task_instance_ol_run_id,
    get_dag_run_logical_date,
    get_job_name,
    get_parent_information_from_dagrun_conf,
    get_processing_engine_facet,
    get_root_information_from_dagrun_conf,
    safe_getattr,
    template_context,
)
from airflow.providers.openlineage.describe.task_position import (
    get_task_instance_position,
)

set_producer(_PRODUCER)
log = logging.getLogger(__name__)

_MAX_DOC_BYTES = 64 * 1024
_DOC_ATTRIBUTES = (
    ("doc", "text/plain"),
    ("doc_md", "text/markdown"),
    ("doc_json", "application/json"),
    ("doc_yaml", "application/x-yaml"),
    ("doc_rst", "text/x-rst"),
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _iso_time(value: dt.datetime) -> str:
    """An event time (always known)."""
    return value.isoformat()


def _truncate_utf8(text: str, limit: int = _MAX_DOC_BYTES) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def _doc_facet(doc: str | None, content_type: str) -> dict[str, Any]:
    if not doc:
        return {}
    return {
        "documentation": documentation_job.DocumentationJobFacet(
            description=_truncate_utf8(str(doc)), contentType=content_type
        )
    }


def task_documentation(task: Any, dag: Any) -> dict[str, Any]:
    """Task doc (first of doc, doc_md, doc_json, doc_yaml, doc_rst), else the DAG's doc or description."""
    for attribute, content_type in _DOC_ATTRIBUTES:
        doc = safe_getattr(task, attribute)
        if doc:
            return _doc_facet(doc, content_type)
    return dag_documentation(dag)


def dag_documentation(dag: Any) -> dict[str, Any]:
    """DAG ``doc_md``, else its description."""
    if dag is None:
        return {}
    if doc_md := safe_getattr(dag, "doc_md"):
        return _doc_facet(doc_md, "text/markdown")
    return _doc_facet(safe_getattr(dag, "description"), "text/plain")


def _owners_facet(owner: str | None) -> dict[str, Any]:
    names = sorted({name.strip() for name in (owner or "").split(",") if name.strip()})
    if not names:
        return {}
    return {"ownership": ownership_job.OwnershipJobFacet(owners=[ownership_job.Owner(name=n) for n in names])}


def task_owners(task: Any, dag: Any) -> dict[str, Any]:
    """Task owner, or the DAG's owner when the task keeps Airflow's default owner."""
    owner = safe_getattr(task, "owner")
    if not owner or owner == "airflow":
        owner = safe_getattr(dag, "owner", owner)
    return _owners_facet(owner)


def _tags_facet(tags: Any) -> dict[str, Any]:
    tags = sorted({str(tag) for tag in tags or ()})
    if not tags:
        return {}
    return {
        "tags": tags_job.TagsJobFacet(
            tags=[tags_job.TagsJobFacetFields(key=t, value=t, source="AIRFLOW") for t in tags]
        )
    }


def _job_type(job_type: str) -> dict[str, Any]:
    return {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="AIRFLOW", jobType=job_type
        )
    }


def _nominal_time(dag_run: Any) -> dict[str, Any]:
    start = safe_getattr(dag_run, "data_interval_start")
    if not start:
        return {}
    end = safe_getattr(dag_run, "data_interval_end")
    return {
        "nominalTime": nominal_time_run.NominalTimeRunFacet(
            nominalStartTime=_iso_time(start), nominalEndTime=_iso(end)
        )
    }


def _error_facet(error: BaseException | str | None) -> dict[str, Any]:
    if not error:
        return {}
    stack = None
    if isinstance(error, BaseException) and error.__traceback__ is not None:
        stack = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return {
        "errorMessage": error_message_run.ErrorMessageRunFacet(
            message=str(error), programmingLanguage="python", stackTrace=stack
        )
    }


def _parent_facet(run_id: str, job_name: str, namespace: str, root: dict[str, str] | None) -> dict[str, Any]:
    root = root or {"root_parent_run_id": run_id, "root_parent_job_name": job_name}
    return {
        "parent": parent_run.ParentRunFacet(
            run=parent_run.Run(runId=run_id),
            job=parent_run.Job(namespace=namespace, name=job_name),
            root=parent_run.Root(
                run=parent_run.RootRun(runId=root["root_parent_run_id"]),
                job=parent_run.RootJob(
                    namespace=root.get("root_parent_job_namespace", namespace),
                    name=root["root_parent_job_name"],
                ),
            ),
        )
    }


def _optional(name: str, build: Any) -> dict[str, Any]:
    """A facet that needs more than the event's own objects (DB, DAG structure); left out on error."""
    try:
        return {name: build()}
    except Exception as err:  # noqa: BLE001 - a missing facet must not cost the event
        log.warning("OpenLineage `%s` facet left out: %s: %s", name, type(err).__name__, err)
        return {}


def debug_facet() -> dict[str, Any]:
    """``debug`` run facet listing installed distributions, in ``debug_mode`` only."""
    if not conf.debug_mode():
        return {}
    from importlib.metadata import distributions

    packages = {d.metadata["Name"]: d.version for d in distributions() if d.metadata["Name"]}
    return {"debug": AirflowDebugRunFacet(packages=packages)}


def get_dag_run_from_ti(task_instance: Any) -> Any:
    """The DAG run of a task instance (runtime TI: from its template context)."""
    dag_run = safe_getattr(task_instance, "dag_run")
    if dag_run is not None:
        return dag_run
    try:
        return template_context(task_instance)["dag_run"]
    except Exception:  # noqa: BLE001 - absent outside a running task
        return None


class TaskRunIdentity:
    """
    Everything that names a task attempt's OpenLineage run and its parent (the DAG run).

    None of it changes during an attempt, so the task runner builds it once per attempt and passes
    it to every event of that attempt (``build_task_event(identity=...)``).
    """

    def __init__(self, task_instance: Any, dag_run: Any) -> None:
        self.dag_run = dag_run  # found once: a runtime TI reaches it through its template context
        self.namespace = conf.namespace()
        self.dag_id = task_instance.dag_id
        self.job_name = get_job_name(task_instance)
        logical_date = get_dag_run_logical_date(dag_run)
        position = get_task_instance_position(task_instance)
        self.map_index = position.map_index
        self.run_id = (
            str(task_instance.id)  # Airflow 3.4 loop body: the execution's own id
            if position.in_loop
            else build_task_instance_ol_run_id(
                dag_id=task_instance.dag_id,
                task_id=task_instance.task_id,
                try_number=task_instance.try_number,
                logical_date=logical_date,
                map_index=position.map_index,
            )
        )
        self.dag_run_ol_id = build_dag_run_ol_run_id(
            dag_id=task_instance.dag_id,
            logical_date=logical_date,
            clear_number=safe_getattr(dag_run, "clear_number", 0),
        )
        root = get_root_information_from_dagrun_conf(safe_getattr(dag_run, "conf"))
        self.root: dict[str, str] = root or {
            "root_parent_run_id": self.dag_run_ol_id,
            "root_parent_job_name": self.dag_id,
            "root_parent_job_namespace": self.namespace,
        }


def task_job_facets(task: Any, dag: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Job facets of a task's events: documentation, owners, the DAG's tags, job type."""
    job_facets: dict[str, Any] = dict(extra or {})
    job_facets.update(task_documentation(task, dag))
    job_facets.update(task_owners(task, dag))
    job_facets.update(_tags_facet(safe_getattr(dag, "tags")))
    job_facets.update(_job_type("TASK"))
    return job_facets


def get_user_provided_run_facets(task_instance: Any, ti_state: Any) -> dict[str, Any]:
    """
    Call each configured ``func(task_instance, ti_state) -> dict[str, RunFacet] | None``.

    A function that raises or returns something else than a dict costs only its own facets (one
    WARNING); a key returned by two functions keeps the later one (WARNING).
    """
    facets: dict[str, Any] = {}
    for func in import_configured("custom_run_facets", conf.custom_run_facets()):
        name = f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', func)}"
        try:
            result = func(task_instance, ti_state)
        except Exception as err:  # noqa: BLE001 - a user's facet function never costs the event
            log.warning(
                "OpenLineage custom run facet function %s failed: %s: %s", name, type(err).__name__, err
            )
            continue
        if not result:
            continue
        if not isinstance(result, dict):
            log.warning(
                "OpenLineage custom run facet function %s returned %s, not a dict",
                name,
                type(result).__name__,
            )
            continue
        for key in result.keys() & facets.keys():
            log.warning("OpenLineage custom run facet `%s` returned by %s replaces an earlier one", key, name)
        facets.update(result)
    return facets


def build_task_event(
    event_type: RunState,
    task_instance: Any,
    *,
    inputs: list[Any] | None = None,
    outputs: list[Any] | None = None,
    extra_run_facets: dict[str, Any] | None = None,
    extra_job_facets: dict[str, Any] | None = None,
    error: BaseException | str | None = None,
    event_time: dt.datetime | None = None,
    include_full_task_info: bool = False,
    identity: TaskRunIdentity | None = None,
    runtime_outlets: list[tuple[Any, Any]] | None = None,
) -> RunEvent:
    """
    A task START / COMPLETE / FAIL event, parented to the task's DAG run.

    ``identity`` is the attempt's, when the caller already holds it; else it is derived here.
    ``runtime_outlets`` are the task's runtime outlet assets when the caller already read them.
    """
    task = task_instance.task
    dag = safe_getattr(task, "dag")
    if identity is None:
        identity = TaskRunIdentity(task_instance, get_dag_run_from_ti(task_instance))
    dag_run = identity.dag_run

    run_facets: dict[str, Any] = dict(extra_run_facets or {})
    run_facets.update(
        _parent_facet(identity.dag_run_ol_id, identity.dag_id, identity.namespace, identity.root)
    )
    if event_type == RunState.START and identity.map_index != -1:
        run_facets["airflow_mappedTask"] = AirflowMappedTaskRunFacet.from_task_instance(task_instance)
    run_facets["airflow"] = AirflowRunFacet(
        dag=describe_dag(dag),
        dagRun=describe_dag_run(dag_run),
        task=describe_task(
            task,
            include_full_task_info=include_full_task_info,
            runtime_assets=None
            if event_type == RunState.START
            else runtime_outlets
            if runtime_outlets is not None
            else get_runtime_outlet_assets(task_instance),
        ),
        taskInstance=describe_task_instance(task_instance),
        taskUuid=identity.run_id,
    )
    run_facets.update(debug_facet())
    if event_type == RunState.FAIL:
        run_facets.update(_error_facet(error))
    run_facets.update(_nominal_time(dag_run))
    run_facets.update(get_processing_engine_facet())

    job_facets = task_job_facets(task, dag, extra_job_facets)

    if event_time is None and event_type == RunState.START:
        event_time = safe_getattr(task_instance, "start_date")
    return RunEvent(
        eventType=event_type,
        eventTime=_iso_time(event_time or utcnow()),
        run=Run(runId=identity.run_id, facets=run_facets),
        job=Job(namespace=identity.namespace, name=identity.job_name, facets=job_facets),
        inputs=list(inputs or []),
        outputs=list(outputs or []),
        producer=_PRODUCER,
    )


def build_dag_run_event(event_type: RunState, dag_run: Any, msg: str | None = None) -> RunEvent:
    """A DAG-run START / COMPLETE / FAIL event."""
    namespace = conf.namespace()
    dag = safe_getattr(dag_run, "dag")
    run_id = build_dag_run_ol_run_id(
        dag_id=dag_run.dag_id,
        logical_date=get_dag_run_logical_date(dag_run),
        clear_number=safe_getattr(dag_run, "clear_number", 0),
    )
    dr_conf = safe_getattr(dag_run, "conf")
    run_facets: dict[str, Any] = {}
    if event_type == RunState.FAIL:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=msg or "", programmingLanguage="python"
        )
    run_facets.update(debug_facet())
    parent = get_parent_information_from_dagrun_conf(dr_conf)
    if parent:
        root = get_root_information_from_dagrun_conf(dr_conf)
        run_facets.update(
            _parent_facet(
                parent["parent_run_id"], parent["parent_job_name"], parent["parent_job_namespace"], root
            )
        )
    if dag is not None:
        run_facets["airflowDagRun"] = AirflowDagRunFacet(
            dag=describe_dag(dag), dagRun=describe_dag_run(dag_run)
        )
    run_facets.update(_nominal_time(dag_run))
    run_facets.update(get_processing_engine_facet())

    job_facets: dict[str, Any] = {}
    job_facets.update(dag_documentation(dag))
    job_facets.update(_owners_facet(safe_getattr(dag, "owner")))
    job_facets.update(_tags_facet(safe_getattr(dag, "tags")))
    job_facets.update(_job_type("DAG"))
    if event_type == RunState.START and dag is not None:
        job_facets.update(_optional("airflow", lambda: AirflowJobFacet(**describe_dag_structure(dag))))

    if event_type == RunState.START:
        event_time = safe_getattr(dag_run, "start_date")
    else:
        event_time = safe_getattr(dag_run, "end_date")
    return RunEvent(
        eventType=event_type,
        eventTime=_iso_time(event_time or utcnow()),
        run=Run(runId=run_id, facets=run_facets),
        job=Job(namespace=namespace, name=dag_run.dag_id, facets=job_facets),
        inputs=[],
        outputs=[],
        producer=_PRODUCER,
    )


def build_manual_task_event(event_type: RunState, task_instance: Any, error: Any = None) -> RunEvent:
    """
    COMPLETE / FAIL for a task state changed outside the task (UI/API "mark", external change).

    No extraction and no user code run here: the event names the task run and its parent only.
    """
    dag_run = safe_getattr(task_instance, "dag_run")
    identity = TaskRunIdentity(task_instance, dag_run)
    task = safe_getattr(task_instance, "task")
    dag = safe_getattr(task, "dag")
    run_facets: dict[str, Any] = {}
    run_facets.update(
        _parent_facet(identity.dag_run_ol_id, identity.dag_id, identity.namespace, identity.root)
    )
    run_facets.update(debug_facet())
    if event_type == RunState.FAIL:
        run_facets.update(_error_facet(error))
    run_facets.update(_nominal_time(dag_run))
    run_facets.update(get_processing_engine_facet())
    job_facets: dict[str, Any] = {}
    if task is not None and dag is not None:
        job_facets.update(task_documentation(task, dag))
        job_facets.update(task_owners(task, dag))
        job_facets.update(_tags_facet(safe_getattr(dag, "tags")))
    job_facets.update(_job_type("TASK"))
    return RunEvent(
        eventType=event_type,
        eventTime=_iso_time(utcnow()),
        run=Run(runId=identity.run_id, facets=run_facets),
        job=Job(namespace=identity.namespace, name=identity.job_name, facets=job_facets),
        inputs=[],
        outputs=[],
        producer=_PRODUCER,
    )


def build_runner_death_event(notice: dict[str, Any], message: str) -> RunEvent:
    """
    FAIL for an attempt whose task runner died before its terminal event (built by its supervisor).

    ``notice`` names the run as the runner derived it (run id, parent, root), so this FAIL closes the
    very run its START opened.
    """
    run_facets: dict[str, Any] = {}
    run_facets.update(
        _parent_facet(notice["dag_run_ol_id"], notice["dag_id"], notice["namespace"], notice["root"])
    )
    run_facets.update(_error_facet(message))
    run_facets.update(get_processing_engine_facet())
    return RunEvent(
        eventType=RunState.FAIL,
        eventTime=_iso_time(utcnow()),
        run=Run(runId=notice["run_id"], facets=run_facets),
        job=Job(namespace=notice["namespace"], name=notice["job_name"], facets=_job_type("TASK")),
        inputs=[],
        outputs=[],
        producer=_PRODUCER,
    )


def add_dag_run_state_facet(event: RunEvent, dag_id: str, run_id: str, dag_run_state: str) -> RunEvent:
    """
    Add ``airflowState`` to a DAG-run COMPLETE/FAIL event, reading task instances in a new session.

    Runs on the emitter's worker thread, never in the scheduler's hook: the scheduler's session is
    inside a no-commit guard there, and its objects must not be touched from another thread.
    """
    from airflow.providers.openlineage.describe.airflow_description import fetch_dag_run_state
    from airflow.providers.openlineage.describe.facets import AirflowStateRunFacet

    event.run.facets = event.run.facets or {}
    event.run.facets.update(
        _optional(
            "airflowState", lambda: AirflowStateRunFacet(**fetch_dag_run_state(dag_id, run_id, dag_run_state))
        )
    )
    return event
