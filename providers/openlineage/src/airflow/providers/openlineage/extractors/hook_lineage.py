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
Lineage reported by hooks while the task ran (Airflow's hook-lineage collector).

Hooks report the assets they read and write (``add_input_asset`` / ``add_output_asset``) and the SQL
they execute (``add_extra`` with the ``sql_job`` key). The collector is process-wide; a task runner
runs one task, so what it holds at the task's end is that task's.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.providers.openlineage.describe.assets import dedupe, to_openlineage_dataset
from airflow.providers.openlineage.extractors.base import OperatorLineage
from airflow.providers.openlineage.extractors.sql_hook_lineage import SQL_JOB_KEY, sql_extras_lineage

log = logging.getLogger(__name__)


def _existing_collector() -> Any | None:
    """The collector if some hook already created it; never creates one just to find it empty."""
    try:
        from airflow.sdk.lineage import get_hook_lineage_collector as getter

        if getter.cache_info().currsize == 0:
            return None
    except (ImportError, AttributeError):
        try:
            from airflow.lineage import hook as legacy  # type: ignore[attr-defined]  # Airflow 3.1

            if getattr(legacy, "_hook_lineage_collector", None) is None:
                return None
        except ImportError:
            return None
    from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector

    return get_hook_lineage_collector()


def get_hook_lineage(
    task_instance: Any, is_successful: bool = True
) -> tuple[OperatorLineage | None, list[Any]]:
    """Task lineage from the collector (None when hooks reported nothing) and SQL query-job events."""
    collector = _existing_collector()
    if collector is None or not collector.has_collected:
        return None, []
    collected = collector.collected_assets
    inputs = [d for d in (to_openlineage_dataset(info.asset) for info in collected.inputs) if d]
    outputs = [d for d in (to_openlineage_dataset(info.asset) for info in collected.outputs) if d]
    sql_extras = [extra for extra in getattr(collected, "extra", []) or [] if extra.key == SQL_JOB_KEY]
    events: list[Any] = []
    lineage: OperatorLineage = OperatorLineage(inputs=dedupe(inputs), outputs=dedupe(outputs))
    if sql_extras:
        sql_lineage, events = sql_extras_lineage(task_instance, sql_extras, is_successful)
        lineage = lineage.merge(sql_lineage)
        lineage.inputs, lineage.outputs = dedupe(lineage.inputs), dedupe(lineage.outputs)
    if not lineage.inputs and not lineage.outputs and not lineage.job_facets:
        return None, events
    return lineage, events
