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
Choose and run the extractor of a task.

Order: a custom extractor registered for the operator's class name (``[openlineage] extractors``),
else the operator's own ``get_openlineage_facets_on_*`` methods, else the task's inlets and outlets.
An extractor that raises costs its datasets, not the event: the event is sent with an
``extractionError`` run facet and one WARNING is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from openlineage.client.facet_v2 import extraction_error_run

from airflow.providers.openlineage import conf
from airflow.providers.openlineage.conf import warn_bad_value
from airflow.providers.openlineage.extractors.base import (
    OL_METHOD_NAME_COMPLETE,
    OL_METHOD_NAME_START,
    BaseExtractor,
    DefaultExtractor,
    OperatorLineage,
)
from airflow.providers.openlineage.utils.imports import import_configured

log = logging.getLogger(__name__)


class ExtractorManager:
    """Registry of extractors by operator class name, plus the fallbacks."""

    def __init__(self) -> None:
        self.extractors: dict[str, type[BaseExtractor]] = {}
        self.default_extractor = DefaultExtractor
        for extractor in import_configured("extractors", conf.custom_extractors()):
            if not (isinstance(extractor, type) and issubclass(extractor, BaseExtractor)):
                warn_bad_value("extractors", extractor, "not a BaseExtractor subclass, skipping it")
                continue
            for operator_class in extractor.get_operator_classnames():
                self.add_extractor(operator_class, extractor)

    def add_extractor(self, operator_class: str, extractor: type[BaseExtractor]) -> None:
        self.extractors[operator_class] = extractor

    def get_extractor_class(self, task: Any) -> type[BaseExtractor] | None:
        if task.task_type in self.extractors:
            return self.extractors[task.task_type]
        if any(
            callable(getattr(task, name, None)) for name in (OL_METHOD_NAME_START, OL_METHOD_NAME_COMPLETE)
        ):
            return self.default_extractor
        return None

    def extract_metadata(
        self, task: Any, state: str, task_instance: Any, source_code_enabled: bool = True
    ) -> OperatorLineage:
        """Lineage of ``task`` for an event in ``state``: running, success, failed or skipped."""
        extractor_class = self.get_extractor_class(task)
        if extractor_class is None:
            lineage = self._from_inlets_outlets(task)
            lineage.run_facets.update(unknown_source_attribute(task))
            return lineage
        try:
            extractor = extractor_class(task)
            extractor.source_code_enabled = source_code_enabled
            if state == "running":
                result = extractor.extract()
            elif state == "failed":
                result = extractor.extract_on_failure(task_instance)
            else:
                result = extractor.extract_on_complete(task_instance)
        except Exception as err:  # noqa: BLE001 - a broken extractor costs its datasets, not the event
            log.warning(
                "OpenLineage extractor %s failed for task `%s`: %s: %s",
                extractor_class.__name__,
                task.task_id,
                type(err).__name__,
                err,
            )
            return OperatorLineage(run_facets=_extraction_error(task, err))
        if result is None:
            return OperatorLineage()
        if not result.inputs and not result.outputs:
            return result.merge(self._from_inlets_outlets(task))
        return result

    @staticmethod
    def _from_inlets_outlets(task: Any) -> OperatorLineage:
        from airflow.providers.openlineage.utils.assets import to_openlineage_dataset

        inputs = [d for d in (to_openlineage_dataset(i) for i in getattr(task, "inlets", []) or []) if d]
        outputs = [d for d in (to_openlineage_dataset(o) for o in getattr(task, "outlets", []) or []) if d]
        return OperatorLineage(inputs=inputs, outputs=outputs)


def unknown_source_attribute(task: Any) -> dict[str, Any]:
    """``unknownSourceAttribute``: the operator had no extractor and no lineage methods."""
    from airflow.providers.openlineage.plugins.facets import (
        UnknownOperatorAttributeRunFacet,
        UnknownOperatorInstance,
    )
    from airflow.providers.openlineage.utils.airflow_info import describe_task

    return {
        "unknownSourceAttribute": UnknownOperatorAttributeRunFacet(
            unknownItems=[UnknownOperatorInstance(name=type(task).__name__, properties=describe_task(task))]
        )
    }


def _extraction_error(task: Any, err: Exception) -> dict[str, Any]:
    return {
        "extractionError": extraction_error_run.ExtractionErrorRunFacet(
            totalTasks=1,
            failedTasks=1,
            errors=[
                extraction_error_run.Error(
                    errorMessage=f"{type(err).__name__}: {err}",
                    stackTrace=None,
                    task=task.task_id,
                    taskNumber=0,
                )
            ],
        )
    }
