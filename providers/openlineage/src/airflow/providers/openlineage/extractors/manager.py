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

Order: an extractor registered for the operator's class name (built in: ``PythonOperator``,
``BashOperator``; then ``[openlineage] extractors``), else the operator's own
``get_openlineage_facets_on_*`` methods, else what hooks reported while the task ran, else the task's
inlets and outlets. An extractor that raises costs its datasets, not the event: the event is sent
with an ``extractionError`` run facet and one WARNING is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from openlineage.client.facet_v2 import extraction_error_run

from airflow.providers.openlineage import conf
from airflow.providers.openlineage.conf import warn_bad_value
from airflow.providers.openlineage.config.imports import import_configured
from airflow.providers.openlineage.describe.assets import (
    dedupe,
    get_runtime_outlet_assets,
    to_openlineage_dataset,
)
from airflow.providers.openlineage.extractors.base import (
    OL_METHOD_NAME_COMPLETE,
    OL_METHOD_NAME_START,
    BaseExtractor,
    DefaultExtractor,
    OperatorLineage,
)
from airflow.providers.openlineage.extractors.bash import BashExtractor
from airflow.providers.openlineage.extractors.python import PythonExtractor
from airflow.providers.openlineage.extractors.source import unknown_operator_facet

log = logging.getLogger(__name__)


def _state_name(state: Any) -> str:
    """``running`` / ``success`` / ``failed`` / ``skipped`` from a TaskInstanceState or a string."""
    return str(getattr(state, "value", state)).lower()


class ExtractorManager:
    """Registry of extractors by operator class name, plus the fallbacks."""

    def __init__(self) -> None:
        self.extractors: dict[str, type[BaseExtractor]] = {}
        self.default_extractor = DefaultExtractor
        for builtin in (PythonExtractor, BashExtractor):
            for operator_class in builtin.get_operator_classnames():
                self.extractors[operator_class] = builtin
        for extractor in import_configured("extractors", conf.custom_extractors()):
            if not (isinstance(extractor, type) and issubclass(extractor, BaseExtractor)):
                warn_bad_value("extractors", extractor, "not a BaseExtractor subclass, skipping it")
                continue
            for operator_class in extractor.get_operator_classnames():
                if operator_class in self.extractors:
                    log.warning(
                        "OpenLineage extractor %s replaces %s for operator %s",
                        extractor.__name__,
                        self.extractors[operator_class].__name__,
                        operator_class,
                    )
                self.add_extractor(operator_class, extractor)
        #: SQL query-job events found by the last hook-lineage read, to be sent with the task event.
        self.child_events: list[Any] = []

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
        self,
        dagrun: Any,
        task: Any,
        task_instance_state: Any,
        task_instance: Any = None,
        controls: Any = None,
        runtime_outlets: list[tuple[Any, Any]] | None = None,
    ) -> OperatorLineage:
        """
        Lineage of ``task`` for an event in ``task_instance_state`` (running, success, failed, skipped).

        ``controls`` is the task's resolved emission policy (source code, hook lineage);
        ``runtime_outlets`` the task's runtime outlet assets when the caller already read them.
        """
        state = _state_name(task_instance_state)
        if state != "running" and task_instance is not None and runtime_outlets is None:
            runtime_outlets = get_runtime_outlet_assets(task_instance)
        lineage = self._extract(task, state, task_instance, controls)
        if state != "running" and runtime_outlets:
            lineage.outputs = _with_runtime_outlets(lineage.outputs, runtime_outlets)
        return lineage

    def _extract(self, task: Any, state: str, task_instance: Any, controls: Any) -> OperatorLineage:
        include_source_code = getattr(controls, "include_source_code", True)
        use_hook_lineage = getattr(controls, "hook_lineage", True) and state != "running"
        self.child_events = []
        extractor_class = self.get_extractor_class(task)
        if extractor_class is None:
            hooked = self._hook_lineage(task_instance, state) if use_hook_lineage else None
            if hooked is not None and (hooked.inputs or hooked.outputs):
                return hooked
            lineage = self._from_inlets_outlets(task)
            lineage.run_facets.update(unknown_operator_facet(task))
            return lineage
        try:
            extractor = extractor_class(task)
            extractor.source_code_enabled = include_source_code
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
        result = _validated(result, extractor_class)
        if result.inputs or result.outputs:
            return result
        if use_hook_lineage:
            hooked = self._hook_lineage(task_instance, state)
            if hooked is not None and (hooked.inputs or hooked.outputs):
                return result.merge(hooked)
            if hooked is not None:
                result = result.merge(hooked)
        return result.merge(self._from_inlets_outlets(task))

    def _hook_lineage(self, task_instance: Any, state: str) -> OperatorLineage | None:
        from airflow.providers.openlineage.extractors.hook_lineage import get_hook_lineage

        try:
            lineage, self.child_events = get_hook_lineage(task_instance, is_successful=state != "failed")
        except Exception as err:  # noqa: BLE001 - hook lineage is a fallback, never a failure
            log.warning("OpenLineage could not read hook lineage: %s: %s", type(err).__name__, err)
            return None
        return lineage

    # -- names other code calls on the manager (2.20.3's interface) ----------------------------

    def extract_inlets_and_outlets(
        self, task_metadata: OperatorLineage, task: Any, task_instance: Any = None
    ) -> None:
        """Add the task's inlets and outlets (and, with a task instance, its runtime outlets) in place."""
        declared = self._from_inlets_outlets(task)
        task_metadata.inputs.extend(declared.inputs)
        outputs = [*task_metadata.outputs, *declared.outputs]
        if task_instance is not None:
            outputs = _with_runtime_outlets(outputs, get_runtime_outlet_assets(task_instance))
        task_metadata.outputs[:] = outputs

    def get_hook_lineage(
        self, task_instance: Any = None, task_instance_state: Any = None
    ) -> OperatorLineage | None:
        """
        What hooks reported while the task ran, or None when they reported no dataset.

        Query jobs found in SQL hook extras are kept in :attr:`child_events`; the task's sender sends
        them with its terminal event, within the task's deadline.
        """
        state = _state_name(task_instance_state) if task_instance_state is not None else "success"
        lineage = self._hook_lineage(task_instance, state)
        if lineage is None or not (lineage.inputs or lineage.outputs):
            return None
        return lineage

    @staticmethod
    def convert_to_ol_dataset_from_object_storage_uri(uri: str) -> Any:
        from airflow.providers.openlineage.describe.assets import dataset_from_uri

        return dataset_from_uri(uri)

    @staticmethod
    def convert_to_ol_dataset_from_table(table: Any) -> Any:
        from airflow.providers.openlineage.describe.assets import dataset_from_table

        return dataset_from_table(table)

    @staticmethod
    def convert_to_ol_dataset(obj: Any) -> Any:
        """An inlet/outlet (OpenLineage dataset, Airflow asset, ``Table``, ``File``) as a dataset, or None."""
        from airflow.providers.openlineage.describe.assets import to_openlineage_dataset

        return to_openlineage_dataset(obj)

    def validate_task_metadata(self, task_metadata: Any) -> OperatorLineage | None:
        """``task_metadata`` as ``OperatorLineage`` when it has its four fields, else None (one WARNING)."""
        if not all(hasattr(task_metadata, n) for n in ("inputs", "outputs", "run_facets", "job_facets")):
            log.warning(
                "OpenLineage extractor returned %s, not OperatorLineage", type(task_metadata).__name__
            )
            return None
        return _validated(task_metadata, type(task_metadata))

    @staticmethod
    def _from_inlets_outlets(task: Any) -> OperatorLineage:
        from airflow.providers.openlineage.describe.assets import to_openlineage_dataset

        inputs = [d for d in (to_openlineage_dataset(i) for i in getattr(task, "inlets", []) or []) if d]
        outputs = [d for d in (to_openlineage_dataset(o) for o in getattr(task, "outlets", []) or []) if d]
        return OperatorLineage(inputs=inputs, outputs=outputs)


def _validated(result: Any, extractor_class: type) -> OperatorLineage:
    """Accept anything shaped like ``OperatorLineage``; anything else counts as no lineage."""
    if result is None:
        return OperatorLineage()
    if isinstance(result, OperatorLineage):
        return result
    if all(hasattr(result, name) for name in ("inputs", "outputs", "run_facets", "job_facets")):
        return OperatorLineage(
            inputs=list(result.inputs or []),
            outputs=list(result.outputs or []),
            run_facets=dict(result.run_facets or {}),
            job_facets=dict(result.job_facets or {}),
        )
    log.warning(
        "OpenLineage extractor %s returned %s, not OperatorLineage; ignored",
        extractor_class.__name__,
        type(result).__name__,
    )
    return OperatorLineage()


def unknown_source_attribute(task: Any) -> dict[str, Any]:
    """``unknownSourceAttribute``: the operator had no extractor and no lineage methods."""
    return unknown_operator_facet(task)


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


def _with_runtime_outlets(outputs: list[Any], runtime_outlets: list[tuple[Any, Any]]) -> list[Any]:
    """Add the assets the task attached through asset aliases while it ran."""
    runtime = [d for d in (to_openlineage_dataset(a) for a, _alias in runtime_outlets) if d]
    return dedupe([*outputs, *runtime]) if runtime else outputs
