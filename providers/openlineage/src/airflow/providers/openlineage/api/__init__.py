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
Emit lineage by hand from task code: the stable public API.

Every function here is bounded and never raises into the caller unless ``raise_on_error=True``:
inside a running task the events join that task attempt's sender (fork or thread) and are sent
within its ``execution_timeout``, before its terminal event; elsewhere they go to the process's
background emitter. When OpenLineage is disabled, or the task's emission policy turns its events
off, the functions do nothing (one INFO line).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from openlineage.client.event_v2 import Dataset, RunState

from airflow.providers.openlineage import conf

log = logging.getLogger(__name__)

__all__ = ["emit", "emit_dataset_lineage", "emit_query_lineage", "is_openlineage_active"]

MANUAL_QUERY_COUNTER_KEY = "_openlineage_manual_query_counter"


def is_openlineage_active() -> bool:
    """True when the provider is configured and its listener is registered in this process."""
    try:
        if conf.is_disabled():
            return False
        from airflow.providers.openlineage.plugins.listener import get_openlineage_listener

        return get_openlineage_listener() is not None
    except Exception:  # noqa: BLE001 - a broken configuration means inactive
        return False


def _adapter() -> Any:
    from airflow.providers.openlineage.plugins.listener import get_openlineage_listener

    return get_openlineage_listener().adapter


def _fail(raise_on_error: bool, what: str, err: Exception) -> None:
    if raise_on_error:
        raise err
    log.warning("OpenLineage %s failed: %s: %s", what, type(err).__name__, err)


def emit(event: Any, *, raise_on_error: bool = False) -> Any:
    """Send a ready-made OpenLineage event; returns it redacted (None when not sent)."""
    try:
        if not is_openlineage_active():
            log.info("OpenLineage is not active; event not emitted")
            return None
        return _adapter().emit(event)
    except Exception as err:  # noqa: BLE001 - see raise_on_error
        _fail(raise_on_error, "emit", err)
        return None


def get_task_instance_from_context() -> Any:
    """The running task instance (RuntimeError outside a task)."""
    try:
        from airflow.sdk import get_current_context

        context = get_current_context()
    except Exception as err:
        raise RuntimeError("no task instance given and none is running in this thread") from err
    task_instance = context.get("ti") or context.get("task_instance")
    if task_instance is None:
        raise RuntimeError("no task instance given and none in the current context")
    return task_instance


def next_query_counter_from_context() -> str:
    """A per-task-try counter for manual query job names (random when there is no task context)."""
    try:
        from airflow.sdk import get_current_context

        context = get_current_context()
    except Exception:  # noqa: BLE001 - outside a task: any unique suffix will do
        import uuid

        return uuid.uuid4().hex[:8]
    counter = int(context.get(MANUAL_QUERY_COUNTER_KEY, 0)) + 1
    context[MANUAL_QUERY_COUNTER_KEY] = counter
    return str(counter)


def _task_emits(task_instance: Any) -> bool:
    from airflow.providers.openlineage.utils.emission_policy import resolve_task_emission_policy

    policy = resolve_task_emission_policy(
        getattr(task_instance, "task", None), task_instance.dag_id, task_instance.task_id
    )
    if not policy.emit:
        log.info(
            "OpenLineage events of task `%s` are turned off by the emission policy", task_instance.task_id
        )
    return policy.emit


def _check_datasets(inputs: list[Any] | None, outputs: list[Any] | None) -> None:
    if not inputs and not outputs:
        raise ValueError("at least one of inputs / outputs must be a non-empty list")
    for item in [*(inputs or []), *(outputs or [])]:
        if not isinstance(item, Dataset):
            raise TypeError(f"inputs and outputs must be OpenLineage Dataset objects, not {type(item)!r}")


def emit_dataset_lineage(
    *,
    inputs: list[Dataset] | None = None,
    outputs: list[Dataset] | None = None,
    task_instance: Any = None,
    additional_run_facets: dict[str, Any] | None = None,
    additional_job_facets: dict[str, Any] | None = None,
    raise_on_error: bool = False,
) -> Any:
    """
    Report datasets the running task read or wrote, as a ``RUNNING`` event of the task's own run.

    Use it where the operator cannot describe its datasets itself (a ``@task`` that reads a file).
    Returns the emitted (redacted) event, or None.
    """
    try:
        _check_datasets(inputs, outputs)
        if not is_openlineage_active():
            log.info("OpenLineage is not active; dataset lineage not emitted")
            return None
        task_instance = task_instance or get_task_instance_from_context()
        if not _task_emits(task_instance):
            return None
        from airflow.utils.state import TaskInstanceState

        from airflow.providers.openlineage.events import build_task_event
        from airflow.providers.openlineage.utils.custom_facets import get_user_provided_run_facets

        run_facets = {
            **(additional_run_facets or {}),
            **get_user_provided_run_facets(task_instance, TaskInstanceState.RUNNING),
        }
        event = build_task_event(
            RunState.RUNNING,
            task_instance,
            inputs=inputs,
            outputs=outputs,
            extra_run_facets=run_facets,
            extra_job_facets=additional_job_facets,
            event_time=dt.datetime.now(dt.UTC),
        )
        return _adapter().emit(event)
    except Exception as err:  # noqa: BLE001 - see raise_on_error
        _fail(raise_on_error, "emit_dataset_lineage", err)
        return None


def _parsed_datasets(
    query_text: str, namespace: str, default_database: str | None, default_schema: str | None
) -> tuple[list[Dataset], list[Dataset]]:
    from airflow.providers.openlineage.sqlparser import DatabaseInfo, SQLParser

    scheme = namespace.split("://", 1)[0]
    parsed = SQLParser(dialect=scheme, default_schema=default_schema).parse(
        SQLParser.split_sql_string(query_text)
    )
    if parsed is None:
        return [], []
    return SQLParser.get_metadata_from_parser(
        parsed.in_tables, parsed.out_tables, DatabaseInfo(scheme=scheme), namespace, default_database
    )


def emit_query_lineage(
    *,
    query_id: str | None = None,
    query_source_namespace: str | None = None,
    query_text: str | None = None,
    inputs: list[Dataset] | None = None,
    outputs: list[Dataset] | None = None,
    start_time: dt.datetime | None = None,
    end_time: dt.datetime | None = None,
    is_successful: bool = True,
    error_message: str | None = None,
    default_database: str | None = None,
    default_schema: str | None = None,
    job_name: str | None = None,
    task_instance: Any = None,
    additional_run_facets: dict[str, Any] | None = None,
    additional_job_facets: dict[str, Any] | None = None,
    raise_on_error: bool = False,
) -> list[Any] | None:
    """
    Report one query the task ran (in a warehouse, an engine) as a child ``QUERY`` job of the task.

    Emits START and COMPLETE (or FAIL) with a fresh run id, the task as parent. With ``query_text``
    and ``query_source_namespace`` (e.g. ``postgres://host:5432``) the SQL is parsed and the tables
    it names are added to ``inputs`` / ``outputs``. The default job name is
    ``<dag_id>.<task_id>.manual_query.<n>``. Returns the emitted events, or None.
    """
    try:
        if not is_openlineage_active():
            log.info("OpenLineage is not active; query lineage not emitted")
            return None
        task_instance = task_instance or get_task_instance_from_context()
        if not _task_emits(task_instance):
            return None
        from openlineage.client.facet_v2 import sql_job

        from airflow.providers.openlineage.query_events import build_query_events, external_query_facet
        from airflow.providers.openlineage.sqlparser import SQLParser
        from airflow.providers.openlineage.utils.ids import get_job_name

        inputs, outputs = list(inputs or []), list(outputs or [])
        if query_text and query_source_namespace:
            parsed_in, parsed_out = _parsed_datasets(
                query_text, query_source_namespace, default_database, default_schema
            )
            inputs += parsed_in
            outputs += parsed_out
        run_facets = {
            **(additional_run_facets or {}),
            **external_query_facet(query_id, query_source_namespace),
        }
        job_facets = dict(additional_job_facets or {})
        if query_text:
            job_facets["sql"] = sql_job.SQLJobFacet(query=SQLParser.normalize_sql(query_text))
        name = job_name or f"{get_job_name(task_instance)}.manual_query.{next_query_counter_from_context()}"
        events = build_query_events(
            task_instance,
            job_name=name,
            inputs=inputs,
            outputs=outputs,
            run_facets=run_facets,
            job_facets=job_facets,
            start_time=start_time,
            end_time=end_time,
            is_successful=is_successful,
            error_message=error_message,
        )
        adapter = _adapter()
        return [adapter.emit(event) for event in events]
    except Exception as err:  # noqa: BLE001 - see raise_on_error
        _fail(raise_on_error, "emit_query_lineage", err)
        return None
