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
"""The extractor interface: what an extractor returns and the methods it implements."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, Generic, TypeVar

import attrs
from openlineage.client.event_v2 import Dataset
from openlineage.client.facet import BaseFacet as BaseFacetV1
from openlineage.client.facet_v2 import JobFacet, RunFacet

OL_METHOD_NAME_START = "get_openlineage_facets_on_start"
OL_METHOD_NAME_COMPLETE = "get_openlineage_facets_on_complete"
OL_METHOD_NAME_FAIL = "get_openlineage_facets_on_failure"

DatasetSubclass = TypeVar("DatasetSubclass", bound=Dataset)
#: The facets an ``OperatorLineage`` holds (``OperatorLineage[Dataset, RunFacet]`` in annotations).
BaseFacetSubclass = TypeVar("BaseFacetSubclass", bound=BaseFacetV1 | RunFacet | JobFacet)


@attrs.define
class OperatorLineage(Generic[DatasetSubclass, BaseFacetSubclass]):
    """Inputs, outputs and facets an extractor found for one task event."""

    inputs: list[DatasetSubclass] = attrs.Factory(list)
    outputs: list[DatasetSubclass] = attrs.Factory(list)
    run_facets: dict[str, BaseFacetSubclass] = attrs.Factory(dict)
    job_facets: dict[str, BaseFacetSubclass] = attrs.Factory(dict)

    def merge(self, other: OperatorLineage) -> OperatorLineage:
        """Combine with ``other``: datasets are concatenated, this object's facets win."""
        return OperatorLineage(
            inputs=[*self.inputs, *other.inputs],
            outputs=[*self.outputs, *other.outputs],
            run_facets={**other.run_facets, **self.run_facets},
            job_facets={**other.job_facets, **self.job_facets},
        )


class BaseExtractor(ABC):
    """Extract lineage from one operator class (or several, by class name)."""

    _allowed_query_params: list[str] = []

    def __init__(self, operator: Any, source_code_enabled: bool = True) -> None:
        self.operator = operator
        self.source_code_enabled = source_code_enabled
        self.log = logging.getLogger(f"{type(self).__module__}.{type(self).__name__}")

    @classmethod
    @abstractmethod
    def get_operator_classnames(cls) -> list[str]:
        """Operator class names (not paths) this extractor handles."""

    @abstractmethod
    def _execute_extraction(self) -> OperatorLineage | None: ...

    def extract(self) -> OperatorLineage | None:
        """Lineage known before the task runs (START)."""
        return self._execute_extraction()

    def extract_on_complete(self, task_instance: Any) -> OperatorLineage | None:
        """Lineage after success (COMPLETE); defaults to :meth:`extract`."""
        return self.extract()

    def extract_on_failure(self, task_instance: Any) -> OperatorLineage | None:
        """Lineage after failure (FAIL); defaults to :meth:`extract_on_complete`."""
        return self.extract_on_complete(task_instance)


class DefaultExtractor(BaseExtractor):
    """Uses the operator's own ``get_openlineage_facets_on_*`` methods."""

    @classmethod
    def get_operator_classnames(cls) -> list[str]:
        return []

    def _call(self, method_name: str, *args: Any) -> OperatorLineage | None:
        method = getattr(self.operator, method_name, None)
        if not callable(method):
            return None
        result = method(*args)
        if result is None:
            return None
        return OperatorLineage(
            inputs=list(getattr(result, "inputs", []) or []),
            outputs=list(getattr(result, "outputs", []) or []),
            run_facets=dict(getattr(result, "run_facets", {}) or {}),
            job_facets=dict(getattr(result, "job_facets", {}) or {}),
        )

    def _execute_extraction(self) -> OperatorLineage | None:
        if callable(getattr(self.operator, OL_METHOD_NAME_START, None)):
            return self._call(OL_METHOD_NAME_START)
        return OperatorLineage()

    def extract_on_complete(self, task_instance: Any) -> OperatorLineage | None:
        if callable(getattr(self.operator, OL_METHOD_NAME_COMPLETE, None)):
            return self._call(OL_METHOD_NAME_COMPLETE, task_instance)
        return self.extract()

    def extract_on_failure(self, task_instance: Any) -> OperatorLineage | None:
        if callable(getattr(self.operator, OL_METHOD_NAME_FAIL, None)):
            return self._call(OL_METHOD_NAME_FAIL, task_instance)
        return self.extract_on_complete(task_instance)
