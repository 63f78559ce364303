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
SQL that hooks reported to Airflow's hook-lineage collector, turned into lineage.

``DbApiHook.run`` and friends (common.sql) report every statement they execute with
``send_sql_hook_lineage``. Each statement becomes a child ``QUERY`` job of the task
(``<dag_id>.<task_id>.hll_query.<n>``, named as by today's provider from 2.21.0; ``query`` before)
with the datasets the SQL names; their union is also the task's own lineage when nothing better (an
extractor, assets) gave any.
"""

from __future__ import annotations

import logging
from typing import Any

from openlineage.client.facet_v2 import sql_job

from airflow.providers.openlineage.describe.assets import dedupe
from airflow.providers.openlineage.extractors.base import OperatorLineage

log = logging.getLogger(__name__)

SQL_JOB_KEY = "sql_job"


def _get_hook_conn_id(hook: Any) -> str | None:
    """The connection id a hook was built with (``<conn_name_attr>`` names the attribute)."""
    attr = getattr(hook, "conn_name_attr", None)
    if attr and getattr(hook, attr, None):
        return getattr(hook, attr)
    return getattr(hook, "conn_id", None)


class _HookFacts:
    """Connection and ``DatabaseInfo`` of each hook, fetched once per hook object."""

    def __init__(self) -> None:
        self._by_hook: dict[int, tuple[Any, Any]] = {}

    def get(self, hook: Any) -> tuple[Any, Any]:
        key = id(hook)
        if key not in self._by_hook:
            from airflow.providers.openlineage.sqlparser import database_info_for

            connection = database_info = None
            conn_id = _get_hook_conn_id(hook)
            try:
                if conn_id:
                    connection = hook.get_connection(conn_id)
                    database_info = database_info_for(hook, connection)
            except Exception as err:  # noqa: BLE001 - no database facts: the query keeps its SQL only
                log.debug("OpenLineage: no connection facts for %s: %s", type(hook).__name__, err)
            self._by_hook[key] = (connection, database_info)
        return self._by_hook[key]


def _parse_query_into_datasets(
    hook: Any, sql: str, default_db: str | None, facts: _HookFacts
) -> OperatorLineage:
    """Datasets and facets of one statement; just the normalized ``sql`` facet when it cannot be parsed."""
    from airflow.providers.openlineage.sqlparser import SQLParser, get_openlineage_facets_with_sql

    connection, database_info = facts.get(hook)
    lineage = None
    if hook is not None and database_info is not None:
        try:
            lineage = get_openlineage_facets_with_sql(
                hook,
                sql,
                conn_id=_get_hook_conn_id(hook) or "",
                database=default_db,
                use_connection=False,
                connection=connection,
                database_info=database_info,
            )
        except Exception as err:  # noqa: BLE001 - unparsable SQL still names the query
            log.debug("OpenLineage could not parse SQL reported by %s: %s", type(hook).__name__, err)
    if lineage is None:
        lineage = OperatorLineage(job_facets={"sql": sql_job.SQLJobFacet(query=SQLParser.normalize_sql(sql))})
    return lineage


def sql_extras_lineage(
    task_instance: Any, sql_extras: list[Any], is_successful: bool = True
) -> tuple[OperatorLineage, list[Any]]:
    """The task-level lineage of the reported statements, and the query events of each of them."""
    from airflow.providers.openlineage.describe.query_events import build_query_events, external_query_facet
    from airflow.providers.openlineage.describe.run_ids import get_job_name
    from airflow.providers.openlineage.sqlparser import SQLParser

    facts = _HookFacts()
    events: list[Any] = []
    inputs: list[Any] = []
    outputs: list[Any] = []
    statements: list[str] = []
    number = 0
    for extra in sql_extras:
        value = getattr(extra, "value", None)
        if not isinstance(value, dict):
            continue
        sql, job_id = value.get("sql"), value.get("job_id")
        if not sql and job_id is None:
            continue
        number += 1
        hook = getattr(extra, "context", None)
        lineage = (
            _parse_query_into_datasets(hook, sql, value.get("default_db"), facts)
            if sql
            else OperatorLineage()
        )
        if sql:
            statements.append(sql)
        _, database_info = facts.get(hook) if hook is not None else (None, None)
        source = SQLParser.create_namespace(database_info) if database_info is not None else None
        run_facets = {**external_query_facet(job_id, source), **lineage.run_facets}
        inputs.extend(lineage.inputs)
        outputs.extend(lineage.outputs)
        events.extend(
            build_query_events(
                task_instance,
                job_name=f"{get_job_name(task_instance)}.hll_query.{number}",
                inputs=lineage.inputs,
                outputs=lineage.outputs,
                run_facets=run_facets,
                job_facets=lineage.job_facets,
                is_successful=is_successful,
            )
        )
    job_facets = {"sql": sql_job.SQLJobFacet(query=SQLParser.normalize_sql(statements))} if statements else {}
    task_lineage = OperatorLineage(inputs=dedupe(inputs), outputs=dedupe(outputs), job_facets=job_facets)
    return task_lineage, events


def emit_lineage_from_sql_extras(
    task_instance: Any, sql_extras: list[Any], is_successful: bool = True
) -> None:
    """Emit a query job (START + COMPLETE/FAIL) per reported statement, through the bounded emitter."""
    from airflow.providers.openlineage.emission import extra_events
    from airflow.providers.openlineage.redact.redaction import redact_event

    _, events = sql_extras_lineage(task_instance, sql_extras, is_successful)
    for event in events:
        try:
            extra_events.emit_extra(redact_event(event))
        except Exception as err:  # noqa: BLE001 - lineage never raises into the task
            log.warning("Failed to emit OpenLineage query event: %s: %s", type(err).__name__, err)
