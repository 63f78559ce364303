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
Helpers other providers import from ``airflow.providers.openlineage.utils.utils``.

This module is the stable address of those names; the work is done in the modules they come from
(``run_ids``, ``events``, ``airflow_description``, ``assets``, ...). Every function here keeps
the signature other providers call it with.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from airflow.providers.openlineage import conf
from airflow.providers.openlineage.api.core import (
    get_task_instance_from_context,
    next_query_counter_from_context,
)
from airflow.providers.openlineage.config.imports import try_import_from_string
from airflow.providers.openlineage.describe.assets import get_runtime_outlet_assets, translate_airflow_asset
from airflow.providers.openlineage.describe.dag_run_lineage import (
    get_airflow_state_run_facet,
    get_dag_job_dependency_facet,
)
from airflow.providers.openlineage.describe.events import (
    _MAX_DOC_BYTES,
    _parent_facet,
    dag_documentation,
    debug_facet,
    get_dag_run_from_ti,
    get_user_provided_run_facets,
)
from airflow.providers.openlineage.describe.run_ids import (
    _PRODUCER,
    build_dag_run_ol_run_id,
    build_task_instance_ol_run_id,
    get_fully_qualified_class_name,
    get_job_name,
    get_operator_class,
    get_parent_information_from_dagrun_conf,
    get_processing_engine_facet,
    get_root_information_from_dagrun_conf,
    is_valid_uuid,
    safe_getattr,
)
from airflow.providers.openlineage.describe.task_position import (
    TaskInstancePosition,
    get_orm_task_instance_positions,
    get_regional_task_instance_run_id,
    get_task_instance_map_index,
)
from airflow.providers.openlineage.extractors.source import unknown_operator_facet
from airflow.providers.openlineage.utils.info import (
    AssetInfo,
    DagInfo,
    DagRunInfo,
    InfoJsonEncodable,
    TaskGroupInfo,
    TaskInfo,
    TaskInfoComplete,
    TaskInstanceInfo,
)
from airflow.providers.openlineage.version_compat import (
    AIRFLOW_V_3_0_PLUS,
    AIRFLOW_V_3_1_PLUS,
    AIRFLOW_V_3_2_PLUS,
    AIRFLOW_V_3_3_PLUS,
)

try:
    from airflow.sdk import Asset
except ImportError:  # pragma: no cover - Airflow 3.1+ always has it
    Asset = None  # type: ignore[assignment,misc]

log = logging.getLogger(__name__)

AnyOperator = Any
_F = TypeVar("_F", bound=Callable[..., Any])

__all__ = [
    "AIRFLOW_V_3_0_PLUS",
    "AIRFLOW_V_3_1_PLUS",
    "AIRFLOW_V_3_2_PLUS",
    "AIRFLOW_V_3_3_PLUS",
    "_MAX_DOC_BYTES",
    "_PRODUCER",
    "AnyOperator",
    "Asset",
    "AssetInfo",
    "DagInfo",
    "DagRunInfo",
    "InfoJsonEncodable",
    "OpenLineageRedactor",
    "TaskGroupInfo",
    "TaskInfo",
    "TaskInfoComplete",
    "TaskInstanceInfo",
    "TaskInstancePosition",
    "build_dag_run_ol_run_id",
    "build_task_event_job_facets",
    "build_task_event_run_facets",
    "build_task_instance_ol_run_id",
    "get_airflow_dag_run_facet",
    "get_airflow_debug_facet",
    "get_airflow_job_facet",
    "get_airflow_mapped_task_facet",
    "get_airflow_run_facet",
    "get_airflow_state_run_facet",
    "get_dag_documentation",
    "get_dag_job_dependency_facet",
    "get_dag_parent_run_facet",
    "get_dag_run_dag_and_task_from_ti",
    "get_filtered_unknown_operator_keys",
    "get_fully_qualified_class_name",
    "get_job_name",
    "get_operator_class",
    "get_operator_provider_version",
    "get_orm_task_instance_positions",
    "get_parent_information_from_dagrun_conf",
    "get_processing_engine_facet",
    "get_regional_task_instance_run_id",
    "get_root_information_from_dagrun_conf",
    "get_runtime_outlet_assets",
    "get_task_documentation",
    "get_task_instance_from_context",
    "get_task_instance_map_index",
    "get_task_parent_run_facet",
    "get_unknown_source_attribute_run_facet",
    "get_user_provided_run_facets",
    "is_dag_run_asset_triggered",
    "is_json_serializable",
    "is_operator_disabled",
    "is_selective_lineage_enabled",
    "is_valid_uuid",
    "next_query_counter_from_context",
    "print_warning",
    "safe_getattr",
    "should_use_external_connection",
    "translate_airflow_asset",
    "try_import_from_string",
]


def should_use_external_connection(hook: Any) -> bool:
    """Whether SQL lineage may query the database's information schema (always, in Airflow 3)."""
    return True


def is_operator_disabled(operator: Any) -> bool:
    """Whether ``disabled_for_operators`` names this operator's class."""
    return get_fully_qualified_class_name(operator) in conf.disabled_operators()


def is_selective_lineage_enabled(obj: Any) -> bool:
    """With ``selective_enable`` on: whether ``obj`` (DAG or task) was marked with ``enable_lineage``."""
    from airflow.providers.openlineage.describe.selective_enable import (
        is_dag_lineage_enabled,
        is_task_lineage_enabled,
    )

    if not conf.selective_enable():
        return True
    if hasattr(obj, "task_dict") and not hasattr(obj, "task_id"):
        return is_dag_lineage_enabled(obj)
    if hasattr(obj, "task_id"):
        return is_task_lineage_enabled(obj)
    raise TypeError(f"{type(obj)!r} is neither a DAG nor a task")


def print_warning(log: logging.Logger) -> Callable[[_F], _F]:
    """Decorator: any exception of the function becomes one WARNING on ``log`` and a None result."""

    def decorator(func: _F) -> _F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except Exception as err:  # noqa: BLE001 - the contract of this decorator
                log.warning(
                    "OpenLineage %s failed, this has no impact on the task: %s: %s",
                    getattr(func, "__name__", func),
                    type(err).__name__,
                    err,
                )
                return None

        return wrapper  # type: ignore[return-value]

    return decorator


def get_task_documentation(operator: Any) -> tuple[str | None, str | None]:
    """(doc, MIME type) of a task: ``doc``, ``doc_md``, ``doc_json``, ``doc_yaml``, ``doc_rst``."""
    from airflow.providers.openlineage.describe.events import task_documentation

    facet = task_documentation(operator, None).get("documentation")
    return (facet.description, facet.contentType) if facet is not None else (None, None)


def get_dag_documentation(dag: Any) -> tuple[str | None, str | None]:
    """(doc, MIME type) of a DAG: ``doc_md`` else ``description``."""
    facet = dag_documentation(dag).get("documentation")
    return (facet.description, facet.contentType) if facet is not None else (None, None)


def get_task_parent_run_facet(
    parent_run_id: str,
    parent_job_name: str,
    parent_job_namespace: str | None = None,
    root_parent_run_id: str | None = None,
    root_parent_job_name: str | None = None,
    root_parent_job_namespace: str | None = None,
    dr_conf: dict | None = None,
) -> dict[str, Any]:
    """``{"parent": ...}`` for a task-like run; the root is the explicit triple, else from ``dr_conf``."""
    namespace = parent_job_namespace or conf.namespace()
    explicit = (root_parent_run_id, root_parent_job_name, root_parent_job_namespace)
    root: dict[str, str] | None = None
    if root_parent_run_id and root_parent_job_name and root_parent_job_namespace:
        root = {
            "root_parent_run_id": root_parent_run_id,
            "root_parent_job_name": root_parent_job_name,
            "root_parent_job_namespace": root_parent_job_namespace,
        }
    elif any(explicit):
        log.warning("OpenLineage: an incomplete root (run id, job name, namespace) is ignored")
    if root is None:
        root = get_root_information_from_dagrun_conf(dr_conf) or {
            "root_parent_run_id": parent_run_id,
            "root_parent_job_name": parent_job_name,
            "root_parent_job_namespace": namespace,
        }
    return _parent_facet(parent_run_id, parent_job_name, namespace, root)


def get_dag_parent_run_facet(dr_conf: dict | None) -> dict[str, Any]:
    """``{"parent": ...}`` of a DAG run triggered with ``conf["openlineage"]``; ``{}`` otherwise."""
    parent = get_parent_information_from_dagrun_conf(dr_conf)
    if not parent:
        return {}
    return _parent_facet(
        parent["parent_run_id"],
        parent["parent_job_name"],
        parent["parent_job_namespace"],
        get_root_information_from_dagrun_conf(dr_conf),
    )


def get_airflow_run_facet(
    dag_run: Any,
    dag: Any,
    task_instance: Any,
    task: Any,
    task_uuid: str,
    include_full_task_info: bool = False,
) -> dict[str, Any]:
    """``{"airflow": AirflowRunFacet}`` describing the DAG, its run, the task and its instance."""
    from airflow.providers.openlineage.describe.airflow_description import (
        describe_dag,
        describe_dag_run,
        describe_task,
        describe_task_instance,
    )
    from airflow.providers.openlineage.describe.facets import AirflowRunFacet

    return {
        "airflow": AirflowRunFacet(
            dag=describe_dag(dag),
            dagRun=describe_dag_run(dag_run),
            task=describe_task(
                task,
                include_full_task_info=include_full_task_info,
                runtime_assets=get_runtime_outlet_assets(task_instance),
            ),
            taskInstance=describe_task_instance(task_instance),
            taskUuid=task_uuid,
        )
    }


def get_airflow_mapped_task_facet(task_instance: Any) -> dict[str, Any]:
    """``{"airflow_mappedTask": ...}`` for a mapped task instance, ``{}`` otherwise."""
    from airflow.providers.openlineage.describe.facets import AirflowMappedTaskRunFacet

    if safe_getattr(task_instance, "map_index", -1) in (None, -1):
        return {}
    return {"airflow_mappedTask": AirflowMappedTaskRunFacet.from_task_instance(task_instance)}


def get_airflow_debug_facet() -> dict[str, Any]:
    """``{"debug": ...}`` (installed distributions) when ``debug_mode`` is on, ``{}`` otherwise."""
    return debug_facet()


def get_unknown_source_attribute_run_facet(task: Any, name: str | None = None) -> dict[str, Any]:
    """``{"unknownSourceAttribute": ...}`` naming an operator lineage could not describe."""
    return unknown_operator_facet(task, name)


def get_dag_run_dag_and_task_from_ti(task_instance: Any) -> tuple[Any, Any, Any]:
    """(dag_run, dag, task) of a task instance, whichever of them can be found."""
    task = safe_getattr(task_instance, "task")
    return get_dag_run_from_ti(task_instance), safe_getattr(task, "dag"), task


def get_operator_provider_version(operator: Any) -> str | None:
    """Version of the ``apache-airflow-providers-*`` distribution an operator comes from, if any."""
    from airflow.providers.openlineage.describe.airflow_description import operator_provider_version

    return operator_provider_version(operator)


def get_airflow_dag_run_facet(dag_run: Any) -> dict[str, Any]:
    """``{"airflowDagRun": ...}`` describing a DAG run and its DAG; ``{}`` when the run has no DAG."""
    from airflow.providers.openlineage.describe.airflow_description import describe_dag, describe_dag_run
    from airflow.providers.openlineage.describe.facets import AirflowDagRunFacet

    dag = safe_getattr(dag_run, "dag")
    if not dag:
        return {}
    return {"airflowDagRun": AirflowDagRunFacet(dag=describe_dag(dag), dagRun=describe_dag_run(dag_run))}


def get_airflow_job_facet(dag_run: Any) -> dict[str, Any]:
    """``{"airflow": AirflowJobFacet}`` (tasks, groups, edges) of a run's DAG; ``{}`` on any problem."""
    from airflow.providers.openlineage.describe.airflow_description import describe_dag_structure
    from airflow.providers.openlineage.describe.facets import AirflowJobFacet

    dag = safe_getattr(dag_run, "dag")
    if not dag:
        return {}
    try:
        return {"airflow": AirflowJobFacet(**describe_dag_structure(dag))}
    except Exception as err:  # noqa: BLE001 - a facet, never an error for the caller
        log.warning(
            "OpenLineage `airflow` job facet of %s left out: %s: %s", dag_run, type(err).__name__, err
        )
        return {}


def is_dag_run_asset_triggered(dag_run: Any) -> bool:
    """Whether the scheduler started the run because assets were updated."""
    from airflow.providers.openlineage.describe.job_dependencies import is_asset_triggered

    return is_asset_triggered(dag_run)


def is_json_serializable(item: Any) -> bool:
    """Whether ``json.dumps`` accepts ``item`` as it is."""
    import json

    try:
        json.dumps(item)
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def get_filtered_unknown_operator_keys(operator: Any) -> dict[str, Any]:
    """An operator's instance attributes without its DAG and task group (which would hold the whole DAG)."""
    return {key: value for key, value in vars(operator).items() if key not in ("dag", "task_group")}


def build_task_event_run_facets(
    *,
    task_instance: Any,
    dag_run: Any,
    dag: Any,
    task: Any,
    task_uuid: str,
    ti_state: Any,
    parent_run_id: str,
    parent_job_name: str | None = None,
    dr_conf: dict | None = None,
    additional_run_facets: dict[str, Any] | None = None,
    include_full_task_info: bool = False,
) -> dict[str, Any]:
    """Run facets of a task event: custom facets, parent, ``airflow``, debug, engine, nominal time."""
    from airflow.providers.openlineage.describe.events import _nominal_time

    if dr_conf is None:
        dr_conf = safe_getattr(dag_run, "conf") or {}
    return {
        **(additional_run_facets or {}),
        **get_user_provided_run_facets(task_instance, ti_state),
        **get_task_parent_run_facet(
            parent_run_id=parent_run_id,
            parent_job_name=parent_job_name or dag.dag_id,
            dr_conf=dr_conf,
        ),
        **get_airflow_run_facet(
            dag_run=dag_run,
            dag=dag,
            task_instance=task_instance,
            task=task,
            task_uuid=task_uuid,
            include_full_task_info=include_full_task_info,
        ),
        **debug_facet(),
        **get_processing_engine_facet(),
        **_nominal_time(dag_run),
    }


def build_task_event_job_facets(
    *, task: Any, dag: Any, additional_job_facets: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Job facets of a task event: documentation (task, else DAG), owners, tags, job type."""
    from airflow.providers.openlineage.describe.events import task_job_facets

    return task_job_facets(task, dag, additional_job_facets)


class OpenLineageRedactor:
    """
    2.20.3's event redactor: masks secrets in an event (or any value) all the way down.

    Every secrets masker in the process is consulted (see
    :mod:`~airflow.providers.openlineage.redact.redaction`), so the masker ``from_masker`` is given
    only stands for "the process's maskers".
    """

    @classmethod
    def from_masker(cls, other: Any) -> OpenLineageRedactor:
        return cls()

    def redact(self, item: Any, name: str | None = None, max_depth: int | None = None) -> Any:
        from airflow.providers.openlineage.redact.redaction import redact_event, redact_structure

        if hasattr(item, "eventType") and hasattr(item, "run"):
            return redact_event(item)
        return redact_structure(item, name)
