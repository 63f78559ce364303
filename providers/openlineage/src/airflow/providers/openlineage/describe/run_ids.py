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
Identity of OpenLineage jobs and runs built from Airflow objects.

Run ids are deterministic UUIDv7 values (the client's ``generate_static_uuid``) derived from the
DAG run's logical date (``run_after`` for runs without one) and a string naming the run. Every
process that knows the same Airflow facts derives the same id, so START and COMPLETE, parent facets,
macros and other providers' events line up without sharing state.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from airflow.providers.openlineage import __version__ as provider_version
from airflow.providers.openlineage import conf
from airflow.providers.openlineage.describe.introspection import safe_getattr as safe_getattr
from airflow.providers.openlineage.describe.introspection import template_context as template_context

_PRODUCER = f"https://github.com/apache/airflow/tree/providers-openlineage/{provider_version}"


def _utc(value: dt.datetime | str) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def build_dag_run_ol_run_id(dag_id: str, logical_date: dt.datetime | str, clear_number: int | None) -> str:
    """OpenLineage run id of a DAG run; a cleared run (new clear number) gets a new id."""
    from openlineage.client.uuid import generate_static_uuid

    data = f"{conf.namespace()}.{dag_id}.{clear_number or 0}"
    return str(generate_static_uuid(instant=_utc(logical_date), data=data.encode("utf-8")))


def build_task_instance_ol_run_id(
    dag_id: str,
    task_id: str,
    try_number: int,
    logical_date: dt.datetime | str,
    map_index: int | None,
) -> str:
    """OpenLineage run id of a task attempt; retries and map indices get their own ids."""
    from openlineage.client.uuid import generate_static_uuid

    map_index = -1 if map_index is None else map_index
    data = f"{conf.namespace()}.{dag_id}.{task_id}.{try_number}.{map_index}"
    return str(generate_static_uuid(instant=_utc(logical_date), data=data.encode("utf-8")))


def get_dag_run_logical_date(dag_run: Any) -> dt.datetime:
    """The instant run ids hang on: the logical date, or ``run_after`` for runs without one."""
    return dag_run.logical_date or dag_run.run_after


def get_job_name(task_instance: Any) -> str:
    """Job name of a task: ``<dag_id>.<task_id>`` (the task id keeps its task-group prefix)."""
    return f"{task_instance.dag_id}.{task_instance.task_id}"


def get_fully_qualified_class_name(operator: Any) -> str:
    """Module and class name of an operator; serialized operators report their original class."""
    if hasattr(operator, "_task_module") and hasattr(operator, "task_type"):
        return f"{operator._task_module}.{operator.task_type}"
    op_class = get_operator_class(operator)
    return f"{op_class.__module__}.{op_class.__name__}"


def get_operator_class(operator: Any) -> type:
    """The operator class a task was built from, looking through mapped operators."""
    if type(operator).__name__ == "MappedOperator":
        return getattr(operator, "operator_class", type(operator))
    return type(operator)


def is_valid_uuid(value: object) -> bool:
    """Whether ``value`` is a string holding a UUID."""
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _triple(conf_section: dict[str, Any], prefix: str) -> dict[str, str] | None:
    """A complete, valid (run id, job namespace, job name) triple from a DAG-run conf, or None."""
    keys = (f"{prefix}RunId", f"{prefix}JobNamespace", f"{prefix}JobName")
    values = [conf_section.get(key) for key in keys]
    if not any(values):
        return None
    run_id, job_namespace, job_name = values
    if not (run_id and job_namespace and job_name) or not is_valid_uuid(run_id):
        return None
    return {"run_id": run_id, "job_namespace": job_namespace, "job_name": job_name}


def _openlineage_conf(dr_conf: Any) -> dict[str, Any]:
    section = dr_conf.get("openlineage") if isinstance(dr_conf, dict) else None
    return section if isinstance(section, dict) else {}


def get_parent_information_from_dagrun_conf(dr_conf: Any) -> dict[str, str]:
    """Parent job given in ``conf["openlineage"]`` of a triggered DAG run (``parent_*`` keys)."""
    triple = _triple(_openlineage_conf(dr_conf), "parent")
    return {f"parent_{key}": value for key, value in triple.items()} if triple else {}


def get_root_information_from_dagrun_conf(dr_conf: Any) -> dict[str, str]:
    """Root job given in ``conf["openlineage"]``; the parent stands in as root when no root is given."""
    section = _openlineage_conf(dr_conf)
    triple = _triple(section, "rootParent") or _triple(section, "parent")
    return {f"root_parent_{key}": value for key, value in triple.items()} if triple else {}


def get_processing_engine_facet() -> dict[str, Any]:
    """``processing_engine`` run facet naming Airflow and this provider's version."""
    from airflow import __version__ as airflow_version
    from openlineage.client.facet_v2 import processing_engine_run

    return {
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=airflow_version, name="Airflow", openlineageAdapterVersion=provider_version
        )
    }
