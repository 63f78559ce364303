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
Where a task instance sits in its DAG run: inside a loop body or not, and the map index users see.

Up to Airflow 3.3 a task instance is named by (dag, task, try, logical date, map index) and this
module only reads ``map_index``. Airflow 3.4 adds dynamic regions (loop task groups): a task inside
a loop body repeats with the same dag, task, try, date and index on every pass, so only the
execution's own UUID (``ti.id``) tells those attempts apart, and stored task instances keep the
index of their region in ``region_index``. Run ids, macros and asset-event links ask here so they
attribute lineage to the right attempt on every version.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any
from uuid import UUID

import attrs

from airflow.providers.openlineage.version_compat import AIRFLOW_V_3_4_PLUS

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@attrs.frozen
class TaskInstancePosition:
    """``in_loop``: the task repeats inside a loop body; ``map_index``: the index users see (-1: none)."""

    in_loop: bool
    map_index: int


def _is_stored(task_instance: Any) -> bool:
    """The ORM task instance (scheduler, API server), as opposed to the task runner's runtime one."""
    return type(task_instance).__module__.startswith("airflow.models")


def _is_task_in_loop(task: Any) -> bool:
    """True when one of the task's enclosing groups is a loop task group (Airflow 3.4+)."""
    group = getattr(task, "task_group", None)
    while group is not None:
        if "Loop" in type(group).__name__:  # LoopTaskGroup (SDK) or SerializedLoopTaskGroup (server)
            return True
        group = getattr(group, "parent_group", None)
    return False


def _position(task_instance: Any) -> TaskInstancePosition | None:
    """The position from the instance's own fields and task; None when only its stored region can tell."""
    if not AIRFLOW_V_3_4_PLUS:
        map_index = getattr(task_instance, "map_index", -1)
        return TaskInstancePosition(in_loop=False, map_index=-1 if map_index is None else map_index)
    stored = _is_stored(task_instance)
    map_index = getattr(task_instance, "region_index" if stored else "map_index", -1)
    map_index = -1 if map_index is None else map_index
    region_id = getattr(task_instance, "region_id", None)
    if not isinstance(region_id, UUID) or region_id.int == 0:
        return TaskInstancePosition(in_loop=False, map_index=map_index)
    task = getattr(task_instance, "task", None)
    if task is None:
        return None
    if stored and not task.get_needs_expansion():
        map_index = -1  # the region of an enclosing loop, not an expansion of this task
    return TaskInstancePosition(in_loop=_is_task_in_loop(task), map_index=map_index)


def get_task_instance_position(task_instance: Any) -> TaskInstancePosition:
    """The position of a task instance (ValueError when it has no task and only its region can tell)."""
    position = _position(task_instance)
    if position is None:
        raise ValueError(
            f"Task instance {getattr(task_instance, 'id', '?')} has no task attached; place it with "
            "get_orm_task_instance_positions and the session it was loaded in"
        )
    return position


def get_task_instance_map_index(task_instance: Any) -> int:
    """The map index users see (-1 for a task that is not mapped), on every Airflow version."""
    return get_task_instance_position(task_instance).map_index


def get_regional_task_instance_run_id(task_instance: Any) -> str | None:
    """The run id of a task inside a loop body (its execution UUID); None everywhere else."""
    if get_task_instance_position(task_instance).in_loop:
        return str(task_instance.id)
    return None


def get_orm_task_instance_positions(
    task_instances: Collection[Any], *, session: Session | None
) -> dict[UUID, TaskInstancePosition]:
    """
    Positions of stored task instances, by ``ti.id``; those without their task are placed from their
    dynamic region in one query (Airflow 3.4+, server side: the session they were loaded in).
    """
    positions: dict[UUID, TaskInstancePosition] = {}
    unplaced = []
    for task_instance in task_instances:
        position = _position(task_instance)
        if position is None:
            unplaced.append(task_instance)
        else:
            positions[task_instance.id] = position
    if not unplaced:
        return positions
    if session is None:
        raise ValueError("placing a stored task instance without its task needs the session it was loaded in")
    from airflow.models.dynamic_region import DynamicRegion
    from sqlalchemy import select

    rows = session.execute(
        select(DynamicRegion.id, DynamicRegion.node_id, DynamicRegion.parent_region_id).where(
            DynamicRegion.id.in_({task_instance.region_id for task_instance in unplaced})
        )
    )
    regions = {row.id: row for row in rows}
    for task_instance in unplaced:
        region = regions.get(task_instance.region_id)
        if region is not None and region.node_id == task_instance.task_id:
            # The task's own expansion region: in a loop only when that region has a parent.
            positions[task_instance.id] = TaskInstancePosition(
                in_loop=region.parent_region_id is not None, map_index=task_instance.region_index
            )
        else:
            positions[task_instance.id] = TaskInstancePosition(in_loop=True, map_index=-1)
    return positions
