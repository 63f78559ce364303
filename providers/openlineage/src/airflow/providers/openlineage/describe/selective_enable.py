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
Selective enable (deprecated in favour of ``emission_policy``): mark DAGs and tasks for lineage.

With ``[openlineage] selective_enable = True`` only DAGs and tasks marked with :func:`enable_lineage`
emit events.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

log = logging.getLogger(__name__)
ENABLE_OL_PARAM_NAME = "_selective_enable_ol"

_T = TypeVar("_T")


def _param(value: bool) -> Any:
    from airflow.sdk import Param

    return Param(value, const=value)


def __getattr__(name: str) -> Any:
    # Built lazily so importing this module does not import the Task SDK's Param machinery.
    if name == "ENABLE_OL_PARAM":
        return _param(True)
    if name == "DISABLE_OL_PARAM":
        return _param(False)
    raise AttributeError(name)


def _set(obj: _T, value: bool) -> _T:
    target: Any = getattr(obj, "operator", obj)  # XComArg -> its operator
    target.params[ENABLE_OL_PARAM_NAME] = _param(value)
    for task in getattr(target, "task_dict", {}).values():
        task.params[ENABLE_OL_PARAM_NAME] = _param(value)
    return obj


def enable_lineage(obj: _T) -> _T:
    """Mark a DAG (and its current tasks), a task or an XComArg's task for lineage."""
    return _set(obj, True)


def disable_lineage(obj: _T) -> _T:
    """Exclude a DAG (and its current tasks), a task or an XComArg's task from lineage."""
    return _set(obj, False)


def _param_value(obj: Any) -> Any:
    params = getattr(obj, "params", None) or {}
    try:
        return params.get(ENABLE_OL_PARAM_NAME)
    except Exception:  # noqa: BLE001 - unusual params containers
        return None


def is_task_lineage_enabled(task: Any) -> bool:
    return _param_value(task) is True


def is_dag_lineage_enabled(dag: Any) -> bool:
    """A DAG is enabled when it is marked, or when any of its tasks is."""
    if _param_value(dag) is True:
        return True
    return any(is_task_lineage_enabled(task) for task in getattr(dag, "tasks", []) or [])
