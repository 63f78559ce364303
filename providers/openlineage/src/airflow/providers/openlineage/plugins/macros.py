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
Jinja macros giving a task the OpenLineage identity of its own run and of its parents.

Use them to link jobs a task starts elsewhere (Spark, dbt, another Airflow) to the task:
``{{ macros.OpenLineageProviderPlugin.lineage_parent_id(task_instance) }}``. Values equal those
carried by the task's own events.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.openlineage import conf
from airflow.providers.openlineage.describe.events import get_dag_run_from_ti
from airflow.providers.openlineage.describe.run_ids import (
    get_dag_run_logical_date,
    get_job_name,
    get_root_information_from_dagrun_conf,
    safe_getattr,
)
from airflow.providers.openlineage.describe.task_position import (
    get_task_instance_position,
)


def _get_dag_run_conf(task_instance: Any) -> dict[str, Any]:
    dag_run = get_dag_run_from_ti(task_instance)
    return safe_getattr(dag_run, "conf") or {}


def _get_logical_date(task_instance: Any) -> Any:
    return get_dag_run_logical_date(get_dag_run_from_ti(task_instance))


def _get_dag_run_clear_number(task_instance: Any) -> int:
    return safe_getattr(get_dag_run_from_ti(task_instance), "clear_number", 0) or 0


def lineage_job_namespace() -> str:
    """The job namespace of every job this provider names."""
    return conf.namespace()


def lineage_job_name(task_instance: Any) -> str:
    """``<dag_id>.<task_id>``."""
    return get_job_name(task_instance)


def lineage_run_id(task_instance: Any) -> str:
    """The task attempt's OpenLineage run id (the one its own events carry)."""
    # Built through OpenLineageAdapter's public builder, as today's provider does: callers patch it.
    from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter

    position = get_task_instance_position(task_instance)
    if position.in_loop:
        return str(task_instance.id)  # Airflow 3.4 loop body: the execution's own id
    return OpenLineageAdapter.build_task_instance_run_id(
        dag_id=task_instance.dag_id,
        task_id=task_instance.task_id,
        try_number=task_instance.try_number,
        logical_date=_get_logical_date(task_instance),
        map_index=position.map_index,
    )


def lineage_parent_id(task_instance: Any) -> str:
    """``<namespace>/<job name>/<run id>`` of the task attempt, for child jobs' parent facets."""
    return "/".join((lineage_job_namespace(), lineage_job_name(task_instance), lineage_run_id(task_instance)))


def _root(task_instance: Any) -> dict[str, str]:
    return get_root_information_from_dagrun_conf(_get_dag_run_conf(task_instance))


def lineage_root_run_id(task_instance: Any) -> str:
    """Root run id: from the DAG run's ``conf["openlineage"]`` when given, else the DAG run's id."""
    root = _root(task_instance)
    if root:
        return root["root_parent_run_id"]
    from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter

    return OpenLineageAdapter.build_dag_run_id(
        dag_id=task_instance.dag_id,
        logical_date=_get_logical_date(task_instance),
        clear_number=_get_dag_run_clear_number(task_instance),
    )


def lineage_root_job_name(task_instance: Any) -> str:
    """Root job name: from the DAG run's conf when given, else the DAG id."""
    return _root(task_instance).get("root_parent_job_name") or task_instance.dag_id


def lineage_root_job_namespace(task_instance: Any) -> str:
    """Root job namespace: from the DAG run's conf when given, else this provider's namespace."""
    return _root(task_instance).get("root_parent_job_namespace") or lineage_job_namespace()


def lineage_root_parent_id(task_instance: Any) -> str:
    """``<root namespace>/<root job name>/<root run id>``."""
    return "/".join(
        (
            lineage_root_job_namespace(task_instance),
            lineage_root_job_name(task_instance),
            lineage_root_run_id(task_instance),
        )
    )
