"""The DAG structure facet says which tasks emit events: not trivial EmptyOperators, not policy-off ones."""

from __future__ import annotations

import datetime as dt
import json

from airflow.providers.openlineage.airflow_description import describe_dag_structure


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

    from airflow.providers.openlineage.airflow_description import describe_dag

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

    from airflow.providers.openlineage.airflow_description import describe_dag_version

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
