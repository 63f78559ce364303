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
"""The ``unknownSourceAttribute`` run facet: which operator gave no datasets, and what it looked like."""

from __future__ import annotations

from typing import Any


def unknown_operator_facet(task: Any, name: str | None = None) -> dict[str, Any]:
    """
    ``{"unknownSourceAttribute": {...}}`` naming the operator class and its task description.

    The facet is a plain dict (the attrs facet as ``attrs.asdict`` gives it), as today's provider
    hands it over: code that reads or merges run facets gets the same type from both.
    """
    import attrs

    from airflow.providers.openlineage.describe.airflow_description import describe_task
    from airflow.providers.openlineage.describe.facets import (
        UnknownOperatorAttributeRunFacet,
        UnknownOperatorInstance,
    )

    facet = UnknownOperatorAttributeRunFacet(
        unknownItems=[
            UnknownOperatorInstance(name=name or type(task).__name__, properties=describe_task(task))
        ]
    )
    return {"unknownSourceAttribute": attrs.asdict(facet)}
