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
Per-DAG and per-task overrides of ``[openlineage] emission_policy``, written in DAG files.

>>> extend_global_openlineage_emission_policy(dag, emit_dag_events=False)
>>> extend_global_openlineage_emission_policy(task, include_source_code=False)

The flags are stored in the object's params (so they travel with the serialized DAG) and beat the
configured rules, except where an administrator locked a field (``"locked": true`` on a rule).
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from airflow.providers.openlineage.describe.emission_policy import (
    EMIT,
    EMIT_DAG_EVENTS,
    EMIT_TASK_EVENTS,
    EXTRACT_OPERATOR_METADATA,
    HOOK_LINEAGE,
    INCLUDE_FULL_TASK_INFO,
    INCLUDE_SOURCE_CODE,
    OL_EMISSION_POLICY_PARAM,
    authoring_flags,
)

log = logging.getLogger(__name__)

__all__ = ["extend_global_openlineage_emission_policy"]

T = TypeVar("T")

_TASK_FLAGS = (
    EMIT,
    EMIT_TASK_EVENTS,
    EXTRACT_OPERATOR_METADATA,
    INCLUDE_SOURCE_CODE,
    HOOK_LINEAGE,
    INCLUDE_FULL_TASK_INFO,
)
_DAG_FLAGS = (EMIT, EMIT_DAG_EVENTS)


def _store(obj: Any, flags: dict[str, bool]) -> None:
    from airflow.sdk import Param

    merged = {**authoring_flags(obj), **flags}
    obj.params[OL_EMISSION_POLICY_PARAM] = Param(merged, type="object")


def _is_dag(obj: Any) -> bool:
    return hasattr(obj, "task_dict") and hasattr(obj, "dag_id") and not hasattr(obj, "task_id")


def extend_global_openlineage_emission_policy(
    obj: T,
    *,
    emit: bool | None = None,
    emit_task_events: bool | None = None,
    emit_dag_events: bool | None = None,
    extract_operator_metadata: bool | None = None,
    include_source_code: bool | None = None,
    hook_lineage: bool | None = None,
    include_full_task_info: bool | None = None,
) -> T:
    """
    Override the configured emission policy for a DAG, a task, or the task behind an XComArg.

    ``None`` means "not set". On a DAG, ``emit`` / ``emit_dag_events`` apply to its DAG-run events
    and the task flags are copied onto every task the DAG has at the time of the call. Repeated calls
    merge, the later value of a flag winning. Returns ``obj`` so it can wrap an expression.
    """
    given = {
        name: value
        for name, value in (
            (EMIT, emit),
            (EMIT_TASK_EVENTS, emit_task_events),
            (EMIT_DAG_EVENTS, emit_dag_events),
            (EXTRACT_OPERATOR_METADATA, extract_operator_metadata),
            (INCLUDE_SOURCE_CODE, include_source_code),
            (HOOK_LINEAGE, hook_lineage),
            (INCLUDE_FULL_TASK_INFO, include_full_task_info),
        )
        if value is not None
    }
    target: Any = getattr(obj, "operator", obj) if type(obj).__name__.endswith("XComArg") else obj
    if not (_is_dag(target) or hasattr(target, "task_id")):
        raise TypeError(
            f"extend_global_openlineage_emission_policy takes a DAG, a task or an XComArg, not {type(obj)!r}"
        )
    if not given:
        log.warning("extend_global_openlineage_emission_policy called without any flag; nothing changes")
        return obj
    task_flags = {k: v for k, v in given.items() if k in _TASK_FLAGS}
    if _is_dag(target):
        dag_flags = {k: v for k, v in given.items() if k in _DAG_FLAGS}
        if dag_flags:
            _store(target, dag_flags)
        if task_flags:
            for task in target.task_dict.values():
                _store(task, task_flags)
        return obj
    if EMIT_DAG_EVENTS in given:
        log.warning("emit_dag_events applies to DAGs only; ignored for task `%s`", target.task_id)
    if task_flags:
        _store(target, task_flags)
    return obj
