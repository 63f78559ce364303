"""The DAG structure facet says which tasks emit events: not trivial EmptyOperators, not policy-off ones."""

from __future__ import annotations

import datetime as dt
import json

from airflow.providers.openlineage.describe.airflow_description import describe_dag_structure


def test_emits_ol_events_follows_the_policy_and_empty_operators(monkeypatch):
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG, Asset

    rule = {"scope": {"dag_id": "d", "task_id": "policy_off"}, "controls": {"emit": False}}
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EMISSION_POLICY", json.dumps([rule]))
    with DAG(dag_id="d", schedule=None, start_date=dt.datetime(2026, 1, 1)) as dag:
        EmptyOperator(task_id="trivial_empty")
        EmptyOperator(task_id="empty_with_outlet", outlets=[Asset("s3://bucket/key")])
        BashOperator(task_id="bash", bash_command="true")
        BashOperator(task_id="policy_off", bash_command="true")
    tasks = describe_dag_structure(dag)["tasks"]
    assert {task_id: info["emits_ol_events"] for task_id, info in tasks.items()} == {
        "trivial_empty": False,  # the scheduler marks it successful without running it
        "empty_with_outlet": True,
        "bash": True,
        "policy_off": False,
    }


def test_every_schedule_kind_has_a_timetable_and_its_summary():
    from airflow.sdk import DAG, Asset

    from airflow.providers.openlineage.describe.airflow_description import describe_dag

    cases = [  # (schedule, summary, a key of the serialized timetable); Assets are not hashable on 3.1
        ("0 3 * * *", "0 3 * * *", "expression"),
        (dt.timedelta(days=987), "987 days, 0:00:00", "delta"),
        (Asset("s3://bucket/a"), "Asset", "asset_condition"),
        ([Asset("s3://bucket/a"), Asset("s3://bucket/b")], "Asset", "asset_condition"),
        (None, "None", None),
    ]
    for schedule, summary, key in cases:
        dag = DAG(dag_id="timetables", schedule=schedule, start_date=dt.datetime(2026, 1, 1))
        info = describe_dag(dag)
        assert info["timetable_summary"] == summary, schedule
        assert isinstance(info["timetable"], dict), schedule
        if key:
            assert key in info["timetable"], info["timetable"]
        json.dumps(info["timetable"])  # JSON-native (enums turned into their values)


def test_the_latest_dag_version_is_described_with_its_data():
    from types import SimpleNamespace

    from airflow.providers.openlineage.describe.airflow_description import describe_dag_version

    old = SimpleNamespace(id=1, bundle_name="b", bundle_version="v1", version_number=1, version_data=None)
    new = SimpleNamespace(id=2, bundle_name="b", bundle_version="v2", version_number=2, version_data={"k": 1})
    assert describe_dag_version([old, new]) == {
        "dag_bundle_name": "b",
        "dag_bundle_version": "v2",
        "dag_version_id": "2",
        "dag_version_number": 2,
        "dag_version_data": {"k": 1},
    }
    assert describe_dag_version([]) == {}


def test_deadlines_carry_their_time_state_and_alert_and_are_left_out_when_absent():
    from types import SimpleNamespace

    from airflow.providers.openlineage.describe.airflow_description import (
        describe_dag_run,
        describe_deadlines,
    )

    alert = SimpleNamespace(
        name="ten years",
        description=None,
        reference={"reference_type": "DagRunLogicalDateDeadline"},
        interval={"__data__": 60.0},
        callback_def={"path": "m.cb"},
    )
    with_alert = SimpleNamespace(
        deadline_time=dt.datetime(2035, 5, 30, tzinfo=dt.UTC), missed=False, deadline_alert=alert
    )
    airflow_31 = SimpleNamespace(
        deadline_time=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    )  # no alert, no `missed`
    assert describe_deadlines([with_alert, airflow_31]) == {
        "alerts": [
            {
                "deadline_time": "2035-05-30T00:00:00+00:00",
                "missed": False,
                "name": "ten years",
                "reference": {"reference_type": "DagRunLogicalDateDeadline"},
                "interval": {"__data__": 60.0},
                "callback_def": {"path": "m.cb"},
            },
            {"deadline_time": "2030-01-01T00:00:00+00:00"},
        ]
    }
    assert describe_deadlines([]) is None
    assert describe_deadlines(None) is None
    run = SimpleNamespace(dag_id="d", run_id="r", deadlines=None, dag_versions=None)
    assert "deadlines" not in describe_dag_run(run)
    run = SimpleNamespace(dag_id="d", run_id="r", deadlines=[airflow_31], dag_versions=None)
    assert describe_dag_run(run)["deadlines"] == {"alerts": [{"deadline_time": "2030-01-01T00:00:00+00:00"}]}


def test_the_team_is_described_only_in_multi_team_deployments(monkeypatch):
    from types import SimpleNamespace

    from airflow.providers.openlineage import conf, version_compat
    from airflow.providers.openlineage.describe.airflow_description import describe_dag_run

    run = SimpleNamespace(dag_id="d", run_id="r", team_name="analytics")
    monkeypatch.setenv("AIRFLOW__CORE__MULTI_TEAM", "False")
    conf.clear_cache()
    assert "dag_team_name" not in describe_dag_run(run)
    monkeypatch.setenv("AIRFLOW__CORE__MULTI_TEAM", "True")
    conf.clear_cache()  # read once per process, like every option
    expected = "analytics" if version_compat.AIRFLOW_V_3_3_PLUS else None  # read from Airflow 3.3 on
    assert describe_dag_run(run).get("dag_team_name") == expected
    if version_compat.AIRFLOW_V_3_3_PLUS:
        teamless = SimpleNamespace(dag_id="d", run_id="r", team_name=None)
        assert "dag_team_name" in describe_dag_run(teamless)
        assert describe_dag_run(teamless)["dag_team_name"] is None


def test_within_one_event_a_task_is_described_once_and_afresh_for_the_next():
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import Asset

    from airflow.providers.openlineage.describe.airflow_description import describe_task, one_event_build

    class CountingBash(BashOperator):
        reads = 0

        @property
        def owner(self):  # read (a fixed number of times) by each description of the task
            CountingBash.reads += 1
            return "data-eng"

        @owner.setter
        def owner(self, value):
            pass

    task = CountingBash(task_id="t", bash_command="true")
    with one_event_build():
        first = describe_task(task)
        per_description = CountingBash.reads
        assert per_description > 0
        second = describe_task(task)
        assert CountingBash.reads == per_description
        assert first == second
        assert first is not second  # each facet gets its own dict
        with_runtime = describe_task(task, runtime_assets=[(Asset("s3://b/k"), None)])
        assert CountingBash.reads == 2 * per_description  # runtime outlets: described, not reused
        assert with_runtime["outlets"] != first["outlets"]
    describe_task(task)
    assert CountingBash.reads == 3 * per_description  # outside an event's build nothing is kept
