"""The macros name the same runs as the events, through today's public run-id builders."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from unittest import mock

from airflow.providers.openlineage.describe.events import TaskRunIdentity
from airflow.providers.openlineage.plugins import macros
from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter

WHEN = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def _ti(map_index: int = -1, conf: dict | None = None) -> SimpleNamespace:
    dag_run = SimpleNamespace(logical_date=WHEN, run_after=WHEN, clear_number=1, conf=conf or {})
    return SimpleNamespace(dag_id="d", task_id="t", try_number=2, map_index=map_index, dag_run=dag_run)


def test_macros_equal_the_events_run_ids():
    ti = _ti(map_index=3)
    identity = TaskRunIdentity(ti, ti.dag_run)
    assert macros.lineage_run_id(ti) == identity.run_id
    assert macros.lineage_root_run_id(ti) == identity.dag_run_ol_id
    assert macros.lineage_parent_id(ti) == f"default/d.t/{identity.run_id}"
    assert macros.lineage_root_parent_id(ti) == f"default/d/{identity.dag_run_ol_id}"


def test_macros_build_through_the_adapters_public_builders():
    """Other providers' tests (dbt Cloud's) patch these builders and expect the macros to follow."""
    with (
        mock.patch.object(OpenLineageAdapter, "build_task_instance_run_id", return_value="task-run") as task,
        mock.patch.object(OpenLineageAdapter, "build_dag_run_id", return_value="dag-run") as dag,
    ):
        ti = _ti(map_index=3)
        assert macros.lineage_run_id(ti) == "task-run"
        assert macros.lineage_root_run_id(ti) == "dag-run"
    task.assert_called_once_with(dag_id="d", task_id="t", try_number=2, logical_date=WHEN, map_index=3)
    dag.assert_called_once_with(dag_id="d", logical_date=WHEN, clear_number=1)


def test_root_given_in_the_dag_run_conf_wins():
    root = {"rootParentRunId": "01890f6e-0000-7000-8000-000000000001", "rootParentJobName": "up"}
    ti = _ti(conf={"openlineage": {**root, "rootParentJobNamespace": "ns"}})
    assert macros.lineage_root_parent_id(ti) == "ns/up/01890f6e-0000-7000-8000-000000000001"
