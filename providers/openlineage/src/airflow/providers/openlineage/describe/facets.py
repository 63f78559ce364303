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
Airflow-specific OpenLineage facets.

They follow the client's attrs pattern (camelCase fields, ``_producer`` / ``_schemaURL`` from the base
class). Their JSON schemas ship in ``airflow/providers/openlineage/facets/``; like the provider this
one replaces, their ``_schemaURL`` points at the generic ``RunFacet`` / ``JobFacet`` definitions of
the OpenLineage spec, which every backend already knows.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
from openlineage.client.facet_v2 import JobFacet, RunFacet

_SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json"


@attrs.define
class _AirflowRunFacetBase(RunFacet):
    @staticmethod
    def _get_schema() -> str:
        return f"{_SPEC}#/$defs/RunFacet"


@attrs.define
class AirflowMappedTaskRunFacet(_AirflowRunFacetBase):
    """Map index and operator class of one instance of a mapped task."""

    mapIndex: int
    operatorClass: str
    _additional_skip_redact: ClassVar[list[str]] = ["operatorClass"]

    @classmethod
    def from_task_instance(cls, task_instance: Any) -> AirflowMappedTaskRunFacet:
        from airflow.providers.openlineage.describe.run_ids import get_fully_qualified_class_name
        from airflow.providers.openlineage.describe.task_position import get_task_instance_map_index

        return cls(
            mapIndex=get_task_instance_map_index(task_instance),
            operatorClass=get_fully_qualified_class_name(task_instance.task),
        )


@attrs.define
class AirflowRunFacet(_AirflowRunFacetBase):
    """The DAG, DAG run, task and task instance an event is about, as Airflow sees them."""

    dag: dict
    dagRun: dict
    task: dict
    taskInstance: dict
    taskUuid: str


@attrs.define
class AirflowDagRunFacet(_AirflowRunFacetBase):
    """The DAG and DAG run of a DAG-run event."""

    dag: dict
    dagRun: dict


@attrs.define
class AirflowStateRunFacet(_AirflowRunFacetBase):
    """Final state of a DAG run and of each of its task instances."""

    dagRunState: str
    tasksState: dict[str, str]
    tasksDuration: dict[str, float] = attrs.field(factory=dict)


@attrs.define
class AirflowDebugRunFacet(_AirflowRunFacetBase):
    """Installed distributions and versions (only in ``debug_mode``)."""

    packages: dict


@attrs.define
class UnknownOperatorInstance:
    """An operator lineage could not be extracted from."""

    name: str
    properties: dict[str, object]
    type: str = "operator"


@attrs.define
class UnknownOperatorAttributeRunFacet(_AirflowRunFacetBase):
    """Operators of the event without an extractor or lineage methods."""

    unknownItems: list[UnknownOperatorInstance]


@attrs.define
class AirflowJobFacet(JobFacet):
    """Structure of a DAG: its tasks and task groups."""

    taskTree: dict
    taskGroups: dict
    tasks: dict

    @staticmethod
    def _get_schema() -> str:
        return f"{_SPEC}#/$defs/JobFacet"
