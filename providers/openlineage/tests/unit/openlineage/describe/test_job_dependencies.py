"""``jobDependencies`` of asset-triggered DAG runs: who produced the consumed asset events."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from airflow.providers.openlineage.describe.job_dependencies import dependencies_of, is_asset_triggered
from airflow.providers.openlineage.describe.run_ids import build_task_instance_ol_run_id

RUN_UUID = "01890f6e-0000-7000-8000-000000000001"


def _event(event_id, **fields):
    base = dict(
        id=event_id,
        source_task_instance=None,
        source_dag_run=None,
        source_dag_id=None,
        source_task_id=None,
        extra={},
        source_run_id=None,
        asset_id=7,
        uri="s3://bucket/key",
        partition_key=None,
    )
    return SimpleNamespace(**{**base, **fields})


def test_only_asset_triggered_runs_qualify():
    assert is_asset_triggered(SimpleNamespace(triggered_by=SimpleNamespace(value="asset")))
    assert is_asset_triggered(SimpleNamespace(triggered_by="asset"))
    assert not is_asset_triggered(SimpleNamespace(triggered_by="timetable"))
    assert not is_asset_triggered(SimpleNamespace())


def test_events_of_one_producer_are_one_dependency():
    events = [
        _event(1, source_dag_id="up", source_task_id="write", source_run_id="r1"),
        _event(2, source_dag_id="up", source_task_id="write", source_run_id="r2"),
    ]
    (producer,) = dependencies_of(events)
    assert (producer.job_name, producer.run_id) == ("up.write", None)
    assert [e["asset_event_id"] for e in producer.asset_events] == [1, 2]
    assert producer.asset_events[0]["asset_uri"] == "s3://bucket/key"


def test_task_instance_gives_the_producer_run_id():
    ti = SimpleNamespace(dag_id="up", task_id="write", try_number=1, map_index=-1)
    run = SimpleNamespace(logical_date=None, run_after="2025-06-01T00:00:00+00:00")
    (producer,) = dependencies_of([_event(1, source_task_instance=ti, source_dag_run=run)])
    assert producer.job_name == "up.write"
    assert producer.run_id == build_task_instance_ol_run_id(
        dag_id="up", task_id="write", try_number=1, logical_date=run.run_after, map_index=-1
    )


def test_extra_names_the_producer_and_a_bad_run_id_is_dropped(caplog):
    good = _event(
        1, extra={"openlineage": {"parentJobName": "j", "parentJobNamespace": "n", "parentRunId": RUN_UUID}}
    )
    bad = _event(
        2, extra={"openlineage": {"parentJobName": "k", "parentJobNamespace": "n", "parentRunId": "x"}}
    )
    with caplog.at_level(logging.WARNING):
        first, second = dependencies_of([good, bad, _event(3)])
    assert (first.namespace, first.job_name, first.run_id) == ("n", "j", RUN_UUID)
    assert (second.job_name, second.run_id) == ("k", None)
    assert "parentRunId 'x'" in caplog.text
