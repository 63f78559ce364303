"""Where a task instance sits (map index; Airflow 3.4 loop bodies), and the run ids built from it."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace

import pytest

from airflow.providers.openlineage.describe import task_position
from airflow.providers.openlineage.describe.task_position import (
    TaskInstancePosition,
    get_orm_task_instance_positions,
    get_regional_task_instance_run_id,
    get_task_instance_map_index,
)
from airflow.providers.openlineage.plugins import macros

WHEN = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
EXECUTION_ID = uuid.UUID("01890f6e-0000-7000-8000-0000000000aa")


class LoopTaskGroup:  # stands in for the SDK's loop group (Airflow 3.4): only the class name is read
    parent_group = None


class TaskGroup:
    def __init__(self, parent=None):
        self.parent_group = parent


def _ti(map_index=-1, region_id=None, group=None, with_task=True):
    task = SimpleNamespace(task_group=group, get_needs_expansion=lambda: False) if with_task else None
    dag_run = SimpleNamespace(logical_date=WHEN, clear_number=0, conf={}, run_after=WHEN)
    return SimpleNamespace(
        id=EXECUTION_ID,
        dag_id="d",
        task_id="t",
        try_number=1,
        map_index=map_index,
        region_id=region_id,
        task=task,
        dag_run=dag_run,
    )


def test_up_to_airflow_3_3_the_map_index_places_a_task(monkeypatch):
    monkeypatch.setattr(task_position, "AIRFLOW_V_3_4_PLUS", False)
    ti = _ti(map_index=2, region_id=uuid.uuid4(), group=LoopTaskGroup())
    assert get_task_instance_map_index(ti) == 2
    assert get_regional_task_instance_run_id(ti) is None
    assert get_task_instance_map_index(_ti(map_index=None)) == -1


def test_airflow_3_4_loop_body_runs_are_named_by_their_execution_id(monkeypatch):
    monkeypatch.setattr(task_position, "AIRFLOW_V_3_4_PLUS", True)
    in_loop = _ti(map_index=0, region_id=uuid.uuid4(), group=TaskGroup(parent=LoopTaskGroup()))
    assert get_regional_task_instance_run_id(in_loop) == str(EXECUTION_ID)
    assert macros.lineage_run_id(in_loop) == str(EXECUTION_ID)
    # A plain mapped task keeps the deterministic run id built from its map index.
    mapped = _ti(map_index=3, region_id=uuid.uuid4(), group=TaskGroup())
    assert get_regional_task_instance_run_id(mapped) is None
    assert get_task_instance_map_index(mapped) == 3
    assert macros.lineage_run_id(mapped) != macros.lineage_run_id(_ti(map_index=4, region_id=uuid.uuid4()))
    # No region (the zero UUID is "none"): no loop, whatever the groups say.
    assert get_regional_task_instance_run_id(_ti(region_id=uuid.UUID(int=0), group=LoopTaskGroup())) is None


def test_airflow_3_4_a_regional_instance_without_its_task_needs_its_session(monkeypatch):
    monkeypatch.setattr(task_position, "AIRFLOW_V_3_4_PLUS", True)
    ti = _ti(region_id=uuid.uuid4(), with_task=False)
    with pytest.raises(ValueError, match="session"):
        get_task_instance_map_index(ti)
    with pytest.raises(ValueError, match="session"):
        get_orm_task_instance_positions([ti], session=None)
    placed = _ti(map_index=1)
    assert get_orm_task_instance_positions([placed], session=None) == {
        EXECUTION_ID: TaskInstancePosition(in_loop=False, map_index=1)
    }
