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
The lineage context every process a task starts inherits: ``OPENLINEAGE_CONTEXT`` and the legacy
``OPENLINEAGE_PARENT_ID`` / ``OPENLINEAGE_ROOT_PARENT_ID``.

OpenLineage-aware jobs a task runs (``dbt-ol`` in a BashOperator, a script in a virtualenv task,
``subprocess``) read these to name the Airflow task's run as their parent and the DAG run as their
root, so their events join the run tree without any macro in the DAG. The variables go into the
task runner's environment when an attempt (or a resumed segment of it) begins and come out when it
ends, so each attempt a process hosts (``airflow dags test``) hands on its own run. Values a user
set anywhere win: when the worker's environment, or the task's own ``env`` / ``env_vars`` /
``environment``, already names any of the three variables, none is set. Only ids and names go into
them, never configuration or secrets.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.providers.openlineage.events import TaskRunIdentity

log = logging.getLogger(__name__)

CONTEXT_VARIABLE = "OPENLINEAGE_CONTEXT"
PARENT_VARIABLE = "OPENLINEAGE_PARENT_ID"
ROOT_PARENT_VARIABLE = "OPENLINEAGE_ROOT_PARENT_ID"
VARIABLES = (CONTEXT_VARIABLE, PARENT_VARIABLE, ROOT_PARENT_VARIABLE)
#: Operator attributes through which a task passes an environment to what it starts.
_TASK_ENVIRONMENTS = ("env", "env_vars", "environment")


def context_variables(identity: TaskRunIdentity) -> dict[str, str]:
    """The three variables naming ``identity``'s run as parent and its root (the DAG run) as root."""
    root = identity.root
    root_namespace = root["root_parent_job_namespace"]
    root_name = root["root_parent_job_name"]
    root_run_id = root["root_parent_run_id"]
    context = {
        "parent": {
            "run": {"runId": identity.run_id},
            "job": {"namespace": identity.namespace, "name": identity.job_name},
            "root": {
                "run": {"runId": root_run_id},
                "job": {"namespace": root_namespace, "name": root_name},
            },
        }
    }
    return {
        CONTEXT_VARIABLE: json.dumps(context, separators=(",", ":")),
        PARENT_VARIABLE: f"{identity.namespace}/{identity.job_name}/{identity.run_id}",
        ROOT_PARENT_VARIABLE: f"{root_namespace}/{root_name}/{root_run_id}",
    }


def _names_in(environment: Any) -> set[str]:
    """Variable names an operator's environment setting holds (a dict, or Kubernetes ``V1EnvVar`` list)."""
    if isinstance(environment, Mapping):
        return {str(name) for name in environment}
    if isinstance(environment, Iterable) and not isinstance(environment, (str, bytes)):
        return {str(getattr(item, "name", "")) for item in environment}
    return set()


def user_set(task: Any) -> set[str]:
    """Which of the variables the worker's environment or the task's own environment already set."""
    found = {name for name in VARIABLES if name in os.environ}
    for attribute in _TASK_ENVIRONMENTS:
        found |= _names_in(getattr(task, attribute, None)) & set(VARIABLES)
    return found


class ChildLineageContext:
    """The variables one attempt put into this process's environment, to take out when it ends."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values

    @classmethod
    def install(cls, identity: TaskRunIdentity, task: Any) -> ChildLineageContext | None:
        """Set the variables for ``identity`` unless a user set any of them (None then)."""
        already = user_set(task)
        if already:
            log.debug("OpenLineage: %s already set; child processes get the user's values", sorted(already))
            return None
        values = context_variables(identity)
        os.environ.update(values)
        return cls(values)

    def remove(self) -> None:
        """Take out what :meth:`install` set (a value something else changed since is left alone)."""
        for name, value in self._values.items():
            if os.environ.get(name) == value:
                del os.environ[name]
        self._values = {}
