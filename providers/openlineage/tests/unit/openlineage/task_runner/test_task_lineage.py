"""``TaskLineage``: one attempt's START and terminal events, sent to a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pytest
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from receiver import Receiver

from airflow.providers.openlineage.plugins.macros import lineage_run_id
from airflow.providers.openlineage.task_runner import task_lineage
from airflow.providers.openlineage.task_runner.task_lineage import TaskLineage

WHEN = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def _task_instance(
    try_number: int = 1, map_index: int = -1, next_method: str | None = None
) -> SimpleNamespace:
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
        map_index=map_index,
        task=task,
        _ti_context_from_server=SimpleNamespace(next_method=next_method),
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


def _events_by_run(receiver: Receiver, spec) -> dict[str, list[str]]:
    by_run: dict[str, list[str]] = {}
    for event in list(receiver.events):
        spec.validate_event(event)
        by_run.setdefault(event["run"]["runId"], []).append(event["eventType"])
    return by_run


@pytest.mark.parametrize("in_thread", ["True", "False"], ids=["thread", "fork"])
def test_one_process_hosts_many_map_indexes_each_with_its_own_run_and_summary(
    monkeypatch, spec, in_thread, caplog
):
    """``airflow dags test`` runs every map index in one process: each gets START and COMPLETE."""
    with Receiver("healthy") as receiver:
        monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(receiver.transport(timeout=5)))
        monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD", in_thread)
        lineage = TaskLineage()
        with caplog.at_level("INFO", logger="airflow.providers.openlineage"):
            for map_index in (0, 1, 2):
                task_instance = _task_instance(map_index=map_index)
                lineage.on_running(task_instance)
                lineage.on_terminal("COMPLETE", task_instance)
                lineage.finish()
        assert receiver.wait_for(6, timeout=10)
        by_run = _events_by_run(receiver, spec)

    expected = [lineage_run_id(_task_instance(map_index=index)) for index in (0, 1, 2)]
    assert list(by_run) == expected
    assert len(set(expected)) == 3
    assert all(types == ["START", "COMPLETE"] for types in by_run.values())
    summaries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("OpenLineage: ")]
    assert len(summaries) == 3
    assert all(line.startswith("OpenLineage: 2 events sent in") for line in summaries), summaries


@pytest.mark.parametrize("in_thread", ["True", "False"], ids=["thread", "fork"])
def test_deferred_attempt_resumed_in_the_same_process_gets_one_start_and_its_complete(
    monkeypatch, spec, in_thread
):
    """Deferral then resume in one process (``dags test``): one START, one COMPLETE, one run id."""
    with Receiver("healthy") as receiver:
        monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(receiver.transport(timeout=5)))
        monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD", in_thread)
        lineage = TaskLineage()
        lineage.on_running(_task_instance())
        lineage.finish()  # the runner stops: the task deferred
        resumed = _task_instance(next_method="execute_complete")
        lineage.on_running(resumed)
        lineage.on_terminal("COMPLETE", resumed)
        lineage.finish()
        assert receiver.wait_for(2, timeout=10)
        assert not receiver.wait_for(3, timeout=1.0)
        by_run = _events_by_run(receiver, spec)

    assert by_run == {lineage_run_id(_task_instance()): ["START", "COMPLETE"]}


@pytest.mark.parametrize("in_thread", ["True", "False"], ids=["thread", "fork"])
def test_a_runner_resuming_an_attempt_sends_only_its_terminal_event(monkeypatch, spec, in_thread):
    """A new runner (a worker after the trigger fired) continues the attempt: no second START."""
    with Receiver("healthy") as receiver:
        monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(receiver.transport(timeout=5)))
        monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD", in_thread)
        first_runner = TaskLineage()
        first_runner.on_running(_task_instance())
        first_runner.finish()
        second_runner = TaskLineage()
        resumed = _task_instance(next_method="execute_complete")
        second_runner.on_running(resumed)
        second_runner.on_terminal("FAIL", resumed, error=RuntimeError("trigger said no"))
        second_runner.finish()
        assert receiver.wait_for(2, timeout=10)
        assert not receiver.wait_for(3, timeout=1.0)
        by_run = _events_by_run(receiver, spec)

    assert by_run == {lineage_run_id(_task_instance()): ["START", "FAIL"]}


def test_an_event_the_task_emits_after_its_attempt_ended_does_not_join_the_next_attempt(monkeypatch, spec):
    with Receiver("healthy") as receiver:
        monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(receiver.transport(timeout=5)))
        monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD", "True")
        lineage = TaskLineage()
        first, second = _task_instance(map_index=0), _task_instance(map_index=1)
        lineage.on_running(first)
        lineage.on_terminal("COMPLETE", first)
        lineage.finish()
        assert not lineage.accepts_extra_events()
        late = _late_event()
        lineage.submit_extra(late)
        lineage.on_running(second)
        assert lineage.accepts_extra_events()
        lineage.on_terminal("COMPLETE", second)
        lineage.finish()
        assert receiver.wait_for(4, timeout=10)
        assert not receiver.wait_for(5, timeout=1.0)
        by_run = _events_by_run(receiver, spec)

    assert late.run.runId not in by_run
    assert list(by_run.values()) == [["START", "COMPLETE"], ["START", "COMPLETE"]]


def _late_event():
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
    from openlineage.client.uuid import generate_new_uuid

    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=WHEN.isoformat(),
        run=Run(runId=str(generate_new_uuid())),
        job=Job(namespace="default", name="late.query"),
        producer="https://example.invalid/producer",
    )


def test_a_second_terminal_hook_for_an_ended_attempt_sends_nothing(monkeypatch, spec):
    with Receiver("healthy") as receiver:
        monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(receiver.transport(timeout=5)))
        monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD", "True")
        lineage = TaskLineage()
        task_instance = _task_instance()
        lineage.on_running(task_instance)
        lineage.on_terminal("FAIL", task_instance)
        lineage.on_terminal("FAIL", task_instance)
        lineage.finish()
        assert receiver.wait_for(2, timeout=10)
        assert not receiver.wait_for(3, timeout=1.0)
        by_run = _events_by_run(receiver, spec)

    assert list(by_run.values()) == [["START", "FAIL"]]
