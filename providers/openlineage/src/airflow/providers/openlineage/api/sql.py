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
"""Report a query a task ran (e.g. on a warehouse whose job the provider cannot see) as a child query job."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from openlineage.client.event_v2 import Dataset

from airflow.providers.openlineage.api.core import (
    _fail,
    _task_emits,
    emit,
    get_task_instance_from_context,
    is_openlineage_active,
    next_query_counter_from_context,
)
from airflow.providers.openlineage.describe.emission_policy import resolve_task_emission_policy

log = logging.getLogger(__name__)

__all__ = ["emit_query_lineage"]


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
        # Looked up here by name (``emit``, ``is_openlineage_active``, ``resolve_task_emission_policy``):
        # other providers' tests patch these names on this module, as they do with today's provider.
        if not _task_emits(task_instance, resolve_task_emission_policy):
            return None
        from openlineage.client.facet_v2 import sql_job

        from airflow.providers.openlineage.describe.query_events import (
            build_query_events,
            external_query_facet,
        )
        from airflow.providers.openlineage.describe.run_ids import get_job_name
        from airflow.providers.openlineage.sqlparser import SQLParser

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
        if raise_on_error:
            return [emit(event, raise_on_error=True) for event in events]
        return [emit(event) for event in events]
    except Exception as err:  # noqa: BLE001 - see raise_on_error
        _fail(raise_on_error, "emit_query_lineage", err)
        return None
