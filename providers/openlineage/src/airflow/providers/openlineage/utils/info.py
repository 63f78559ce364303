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
2.20.3's ``*Info`` dict classes (``utils.utils.DagInfo`` and the rest), over this provider's descriptions.

``InfoJsonEncodable`` is the general mechanism code may subclass to describe its own objects:
``casts`` (key -> function of the object), ``renames`` (attribute -> key), then ``includes`` (or every
attribute but ``excludes``), all made JSON-friendly. The subclasses for Airflow objects return what
the ``airflow`` facets carry, built by :mod:`~airflow.providers.openlineage.describe.airflow_description`, so
a ``DagInfo(dag)`` is the ``dag`` part of an emitted event; their ``includes`` / ``renames`` /
``casts`` name the attributes and computed keys of that description.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from airflow.providers.openlineage.describe import airflow_description as described
from airflow.providers.openlineage.describe.run_ids import safe_getattr


def _attribute_names(obj: Any) -> list[str]:
    if hasattr(obj, "__dict__"):
        return list(vars(obj))
    import attrs

    if attrs.has(type(obj)):
        return [field.name for field in attrs.fields(type(obj))]
    raise ValueError(f"{type(obj).__name__} has neither __dict__ nor attrs fields to describe")


class InfoJsonEncodable(dict):
    """A JSON-friendly dict of an object, shaped by ``casts``, ``renames``, ``includes``, ``excludes``."""

    renames: ClassVar[dict[str, str]] = {}
    casts: ClassVar[dict[str, Callable[[Any], Any]]] = {}
    includes: ClassVar[list[str]] = []
    excludes: ClassVar[list[str]] = []

    def __init__(self, obj: Any) -> None:
        super().__init__(self._describe(obj))

    def __getattr__(self, name: str) -> Any:
        """Each field is an attribute too (``DagInfo(dag).timetable``), as with today's provider."""
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}") from None

    def _describe(self, obj: Any) -> dict[str, Any]:
        if self.includes and self.excludes:
            raise ValueError(f"{type(self).__name__}: use includes or excludes, not both")
        fields: dict[str, Any] = {key: build(obj) for key, build in self.casts.items()}
        for source, target in self.renames.items():
            if hasattr(obj, source):
                fields.setdefault(target, getattr(obj, source))
        if self.includes:
            names = [name for name in self.includes if hasattr(obj, name)]
        else:
            names = [n for n in _attribute_names(obj) if n not in self.excludes and n not in self.renames]
        for name in names:
            fields.setdefault(name, getattr(obj, name))
        return {key: described.to_json_value(value) for key, value in fields.items()}


class DagInfo(InfoJsonEncodable):
    """The ``dag`` part of the ``airflow`` / ``airflowDagRun`` facets."""

    includes: ClassVar[list[str]] = list(described._DAG_INCLUDES)
    renames: ClassVar[dict[str, str]] = {"_dag_id": "dag_id"}
    casts: ClassVar[dict[str, Callable[[Any], Any]]] = {
        "timetable": lambda dag: DagInfo.serialize_timetable(dag),
        "timetable_summary": lambda dag: DagInfo.timetable_summary(dag),
    }

    @classmethod
    def timetable_summary(cls, dag: Any) -> str | None:
        return str(described.core_timetable(dag).summary)

    @classmethod
    def serialize_timetable(cls, dag: Any) -> dict[str, Any]:
        return described.describe_dag(dag).get("timetable") or {}

    def _describe(self, obj: Any) -> dict[str, Any]:
        return described.describe_dag(obj)


class DagRunInfo(InfoJsonEncodable):
    """The ``dagRun`` part of the ``airflow`` / ``airflowDagRun`` facets."""

    includes: ClassVar[list[str]] = list(described._DAG_RUN_INCLUDES)
    casts: ClassVar[dict[str, Callable[[Any], Any]]] = {
        "duration": lambda run: DagRunInfo.duration(run),
        "note": lambda run: safe_getattr(run, "note"),
        "dag_bundle_name": lambda run: DagRunInfo.dag_version_info(run, "bundle_name"),
        "dag_bundle_version": lambda run: DagRunInfo.dag_version_info(run, "bundle_version"),
        "dag_version_id": lambda run: DagRunInfo.dag_version_info(run, "version_id"),
        "dag_version_number": lambda run: DagRunInfo.dag_version_info(run, "version_number"),
        "dag_version_data": lambda run: DagRunInfo.dag_version_info(run, "version_data"),
    }
    _VERSION_KEYS: ClassVar[dict[str, str]] = {
        "bundle_name": "dag_bundle_name",
        "bundle_version": "dag_bundle_version",
        "version_id": "dag_version_id",
        "version_number": "dag_version_number",
        "version_data": "dag_version_data",  # Airflow 3.3+
    }

    @classmethod
    def duration(cls, dagrun: Any) -> float | None:
        return described.describe_dag_run(dagrun).get("duration")

    @classmethod
    def dag_version_info(cls, dagrun: Any, key: str) -> Any:
        """``bundle_name``, ``bundle_version``, ``version_id``, ``version_number`` or ``version_data``."""
        if key not in cls._VERSION_KEYS:
            raise ValueError(f"Unsupported key: {key}")
        return described.describe_dag_version(safe_getattr(dagrun, "dag_versions")).get(
            cls._VERSION_KEYS[key]
        )

    @classmethod
    def deadlines(cls, dagrun: Any) -> dict[str, Any] | None:
        """The run's deadlines as ``{"alerts": [...]}`` (scheduler DagRun only), else None."""
        return described.describe_deadlines(safe_getattr(dagrun, "deadlines"))

    @classmethod
    def team_name(cls, dagrun: Any) -> str | None:
        """The run's team where ``[core] multi_team`` is on (Airflow 3.3+) and the object carries it."""
        if not described.multi_team_enabled():
            return None
        name = safe_getattr(dagrun, "team_name")
        return name if isinstance(name, str) else None

    def _describe(self, obj: Any) -> dict[str, Any]:
        return described.describe_dag_run(obj)


class TaskInstanceInfo(InfoJsonEncodable):
    """The ``taskInstance`` part of the ``airflow`` facet."""

    includes: ClassVar[list[str]] = list(described._TI_INCLUDES)
    casts: ClassVar[dict[str, Callable[[Any], Any]]] = {
        "map_index": lambda ti: described.describe_task_instance(ti).get("map_index"),
        "log_url": lambda ti: safe_getattr(ti, "log_url"),
    }

    def _describe(self, obj: Any) -> dict[str, Any]:
        return described.describe_task_instance(obj)


class TaskGroupInfo(InfoJsonEncodable):
    """A task's group in the ``airflow`` facet."""

    includes: ClassVar[list[str]] = list(described._TASK_GROUP_INCLUDES)
    renames: ClassVar[dict[str, str]] = {"_group_id": "group_id"}

    def _describe(self, obj: Any) -> dict[str, Any]:
        return described.describe_task_group(obj) or {}


class TaskInfo(InfoJsonEncodable):
    """The ``task`` part of the ``airflow`` facet (``runtime_assets``: see ``get_runtime_outlet_assets``)."""

    includes: ClassVar[list[str]] = list(described._TASK_INCLUDES)
    renames: ClassVar[dict[str, str]] = dict(described._TASK_RENAMES)
    casts: ClassVar[dict[str, Callable[[Any], Any]]] = {
        "operator_class": lambda task: task.task_type,
        "operator_class_path": lambda task: described.get_fully_qualified_class_name(task),
        "operator_provider_version": lambda task: described.operator_provider_version(task),
    }
    _full: ClassVar[bool] = False

    def __init__(self, obj: Any, runtime_assets: list[tuple[Any, Any]] | None = None) -> None:
        self._runtime_assets = runtime_assets
        super().__init__(obj)

    def _describe(self, obj: Any) -> dict[str, Any]:
        return described.describe_task(
            obj, include_full_task_info=self._full, runtime_assets=self._runtime_assets
        )


class TaskInfoComplete(TaskInfo):
    """The ``task`` part with ``include_full_task_info``: an explicit longer list, never ``vars(task)``."""

    includes: ClassVar[list[str]] = list(described._FULL_TASK_INCLUDES)
    excludes: ClassVar[list[str]] = sorted(described._FULL_TASK_EXCLUDES)
    _full: ClassVar[bool] = True


class AssetInfo(InfoJsonEncodable):
    """One inlet/outlet asset as the task facet lists it (``uri``, ``extra``, ``type``, ``source_alias``)."""

    includes: ClassVar[list[str]] = ["uri", "extra"]

    def __init__(self, obj: Any, asset_type: str = "asset", source_alias: str | None = None) -> None:
        self._asset_type = asset_type
        self._source_alias = source_alias
        super().__init__(obj)

    def _describe(self, obj: Any) -> dict[str, Any]:
        info = {
            "uri": safe_getattr(obj, "uri"),
            "extra": safe_getattr(obj, "extra") or {},
            "type": self._asset_type,
        }
        if self._source_alias is not None:
            info["source_alias"] = self._source_alias
        return info
