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

Containers do not inherit the worker's environment: KubernetesPodOperator and DockerOperator get the
same variables in their ``env_vars`` / ``environment`` only when their family is opted in
(``[openlineage] kubernetes_inject_parent_job_info`` / ``docker_inject_parent_job_info``: it
changes what is sent to another system), and the operator gets its own value back at the end.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.providers.openlineage.describe.events import TaskRunIdentity

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


#: Operator families whose containers do not inherit the worker's environment: the module prefix of
#: the family, the option that opts it in, and the attribute the operator passes its environment in.
CONTAINER_FAMILIES: tuple[tuple[str, str, str], ...] = (
    ("airflow.providers.cncf.kubernetes.", "kubernetes_inject_parent_job_info", "env_vars"),
    ("airflow.providers.docker.", "docker_inject_parent_job_info", "environment"),
)


def container_family(task: Any) -> tuple[str, str] | None:
    """(option, attribute) when ``task`` is a KubernetesPodOperator / DockerOperator (or subclass)."""
    for klass in type(task).__mro__:
        for prefix, option, attribute in CONTAINER_FAMILIES:
            if klass.__module__.startswith(prefix) and hasattr(task, attribute):
                return option, attribute
    return None


def _with_variables(environment: Any, values: dict[str, str]) -> Any:
    """A new environment setting: ``environment`` plus ``values`` in its own shape (dict or V1EnvVar list)."""
    if environment is None or isinstance(environment, Mapping):
        return {**(environment or {}), **values}
    from kubernetes.client import models as k8s

    return [*environment, *(k8s.V1EnvVar(name=name, value=value) for name, value in values.items())]


class ChildLineageContext:
    """What one attempt added (process environment, a container operator's setting), taken out at its end."""

    def __init__(self, values: dict[str, str], in_process: bool) -> None:
        self._values = values if in_process else {}
        self._restore: tuple[Any, str, Any] | None = None

    @classmethod
    def install(
        cls, identity: TaskRunIdentity, task: Any, *, processes: bool = True, container_option: bool = False
    ) -> ChildLineageContext | None:
        """
        Set the variables for ``identity``: in this process's environment when ``processes``, in the
        task's container environment when it is a container operator and ``container_option`` (its
        family's option) is on. Nothing (None) when a user set any of them.
        """
        already = user_set(task)
        if already:
            log.debug("OpenLineage: %s already set; child jobs get the user's values", sorted(already))
            return None
        family = container_family(task) if container_option else None
        if not processes and family is None:
            return None
        values = context_variables(identity)
        context = cls(values, in_process=processes)
        if processes:
            os.environ.update(values)
        if family is not None:
            _, attribute = family
            original = getattr(task, attribute)
            setattr(task, attribute, _with_variables(original, values))
            context._restore = (task, attribute, original)
        return context

    def remove(self) -> None:
        """Take out what :meth:`install` set (a value something else changed since is left alone)."""
        for name, value in self._values.items():
            if os.environ.get(name) == value:
                del os.environ[name]
        self._values = {}
        if self._restore is not None:
            task, attribute, original = self._restore
            setattr(task, attribute, original)
            self._restore = None
