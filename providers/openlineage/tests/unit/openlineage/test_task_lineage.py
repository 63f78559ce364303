"""``TaskLineage``: one attempt's START and terminal events, sent to a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pytest
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from receiver import Receiver

from airflow.providers.openlineage import task_lineage
from airflow.providers.openlineage.plugins.macros import lineage_run_id
from airflow.providers.openlineage.task_lineage import TaskLineage

WHEN = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def _task_instance(try_number: int = 1) -> SimpleNamespace:
    with DAG("lineage_dag", schedule=None, start_date=WHEN):
        task = EmptyOperator(task_id="t")
    dag_run = SimpleNamespace(
        dag_id="lineage_dag",
        run_id="manual__1",
        conf={},
        logical_date=WHEN,
        clear_number=0,
        data_interval_start=WHEN,
        data_interval_end=WHEN,
        run_type="manual",
        start_date=WHEN,
    )
    return SimpleNamespace(
        dag_id="lineage_dag",
        task_id="t",
        run_id="manual__1",
        try_number=try_number,
        map_index=-1,
        task=task,
        dag_run=dag_run,
        start_date=WHEN,
        state="running",
    )


@pytest.mark.parametrize("in_thread", ["True", "False"], ids=["thread", "fork"])
def test_an_attempts_events_share_one_identity_derived_once_per_attempt(monkeypatch, spec, in_thread):
    derived = []
    real_identity = task_lineage.TaskRunIdentity

    def counting_identity(*args):
        derived.append(args[0].try_number)
        return real_identity(*args)

    monkeypatch.setattr(task_lineage, "TaskRunIdentity", counting_identity)
    with Receiver("healthy") as receiver:
        monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(receiver.transport(timeout=5)))
        monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD", in_thread)
        lineage = TaskLineage()
        for try_number in (1, 2):
            task_instance = _task_instance(try_number)
            lineage.on_running(task_instance)
            lineage.on_terminal("COMPLETE", task_instance)
            lineage.finish()
        assert receiver.wait_for(4, timeout=10)
        events = list(receiver.events)

    assert derived == [1, 2]
    by_try: dict[str, list[str]] = {}
    for event in events:
        spec.validate_event(event)
        by_try.setdefault(event["run"]["runId"], []).append(event["eventType"])
    assert list(by_try.values()) == [["START", "COMPLETE"], ["START", "COMPLETE"]]
    assert list(by_try) == [lineage_run_id(_task_instance(1)), lineage_run_id(_task_instance(2))]
