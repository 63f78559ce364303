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
Immutable copies of what an event needs, taken on the hook's thread.

The scheduler's DAG-run hooks run on its loop with ORM objects bound to the loop's session: the hook
copies plain values into a :class:`DagRunSnapshot` (attribute reads, no building, no redaction) and
the emitter's thread builds the event from the copy. A task state changed outside the task (the API
server's "mark success/failed") is copied the same way into a :class:`TaskInstanceSnapshot` on the
request's thread. Nothing on the emitter's thread touches the ORM object.
"""

from __future__ import annotations

import copy
from typing import Any

from airflow.providers.openlineage.describe.run_ids import safe_getattr

# Every DAG-run attribute an event reads (run id, facets, nominal time, event time, policy).
# ``dag_versions``, ``deadlines`` and ``team_name`` are not copied at the hook (reading them loads
# rows): the emitter thread adds them.
_DAG_RUN_FIELDS = (
    "bundle_version",
    "clear_number",
    "conf",
    "created_dag_version_id",
    "dag",
    "dag_id",
    "dag_versions",
    "data_interval_end",
    "data_interval_start",
    "deadlines",
    "end_date",
    "logical_date",
    "note",
    "partition_date",
    "partition_key",
    "run_after",
    "run_id",
    "run_type",
    "start_date",
    "state",
    "team_name",
    "triggered_by",
    "triggering_user_name",
)

_ADDED_LATER = frozenset({"dag_versions", "deadlines", "team_name"})
# Values the ORM reads through a relationship: left for the emitter to read when not loaded yet,
# since a lazy load is a database query on the scheduler's loop.
_LAZY_ON_ORM = {"note": "dag_run_note"}


def _not_loaded(obj: Any) -> frozenset[str]:
    """The fields of an ORM object whose relationship is not loaded (nothing for other objects)."""
    try:
        from sqlalchemy import inspect
        from sqlalchemy.exc import NoInspectionAvailable
    except ImportError:  # pragma: no cover - SQLAlchemy is always there with Airflow
        return frozenset()
    try:
        unloaded = inspect(obj).unloaded
    except NoInspectionAvailable:
        return frozenset()
    except Exception:  # noqa: BLE001 - an odd object: read everything as before
        return frozenset()
    return frozenset(name for name, relationship in _LAZY_ON_ORM.items() if relationship in unloaded)


class DagRunSnapshot:
    """
    A DAG run's values at the hook; read like the DagRun it came from, never changed.

    An attribute the DagRun does not have (``partition_key`` before Airflow 3.2) stays unset here too,
    so ``hasattr`` answers as it would on the DagRun and the event leaves the field out the same way.
    """

    __slots__ = _DAG_RUN_FIELDS

    def __init__(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    @classmethod
    def of(cls, dag_run: Any) -> DagRunSnapshot:
        """Copy ``dag_run``'s values; ``conf`` is deep-copied (the DAG object is shared, read-only)."""
        values = cls.portable_values(dag_run, defer_lazy=False)
        if (dag := safe_getattr(dag_run, "dag")) is not None:
            values["dag"] = dag
        if "conf" in values:
            try:
                values["conf"] = copy.deepcopy(values["conf"])
            except Exception:  # noqa: BLE001 - an uncopyable conf is not described rather than shared
                values["conf"] = None
        return cls(**values)

    @staticmethod
    def portable_values(dag_run: Any, *, defer_lazy: bool = True) -> dict[str, Any]:
        """
        ``dag_run``'s plain values without its DAG, for another process (which loads the DAG itself).

        Not copied here: the caller pickles them at once, which is the copy. A value behind a
        relationship that is not loaded (the note) is left for the emitter to read from the database.
        """
        missing = object()
        skip = _ADDED_LATER | {"dag"} | (_not_loaded(dag_run) if defer_lazy else frozenset())
        values = {name: safe_getattr(dag_run, name, missing) for name in _DAG_RUN_FIELDS if name not in skip}
        return {name: value for name, value in values.items() if value is not missing}

    def with_values(self, **values: Any) -> DagRunSnapshot:
        """A copy with more values (what the emitter thread reads later, such as ``dag_versions``)."""
        missing = object()
        current = {name: getattr(self, name, missing) for name in _DAG_RUN_FIELDS}
        return type(self)(**{**{k: v for k, v in current.items() if v is not missing}, **values})

    @property
    def state_value(self) -> str:
        state = safe_getattr(self, "state")
        return str(getattr(state, "value", state))

    @property
    def route_key(self) -> str:
        """Events of one DAG run share this key, so one emitter worker sends them in order."""
        return f"{safe_getattr(self, 'dag_id')}/{safe_getattr(self, 'run_id')}"


# What a manual state change's event reads from the task instance (``task`` is the DAG's operator,
# shared read-only; ``dag_run`` becomes a DagRunSnapshot).
_TASK_INSTANCE_FIELDS = ("dag_id", "task_id", "run_id", "try_number", "map_index", "state", "task", "dag_run")


class TaskInstanceSnapshot:
    """A task instance's values at a hook outside the task runner; read like the TI, never changed."""

    __slots__ = _TASK_INSTANCE_FIELDS

    def __init__(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    @classmethod
    def of(cls, task_instance: Any) -> TaskInstanceSnapshot:
        """Copy ``task_instance``'s values; its DAG run is copied as a :class:`DagRunSnapshot`."""
        values = {name: safe_getattr(task_instance, name) for name in _TASK_INSTANCE_FIELDS}
        if values["map_index"] is None:
            values["map_index"] = -1
        dag_run = values["dag_run"]
        values["dag_run"] = DagRunSnapshot.of(dag_run) if dag_run is not None else None
        return cls(**values)

    @property
    def route_key(self) -> str:
        """The task's events share its DAG run's worker (after the DAG run's own events)."""
        return f"{self.dag_id}/{self.run_id}"  # type: ignore[attr-defined]  # fields set from values


__all__ = ["DagRunSnapshot", "TaskInstanceSnapshot"]
