"""The listener never raises into Airflow: an internal error becomes one WARNING line."""

from __future__ import annotations

import datetime
import logging
import threading
import types

from airflow.providers.openlineage.describe.snapshots import DagRunSnapshot
from airflow.providers.openlineage.plugins import listener as listener_module
from airflow.providers.openlineage.plugins.listener import OpenLineageListener


class ExplodingTaskInstance:
    """A runtime task instance whose every attribute access fails inside the provider."""

    def __getattr__(self, name):
        raise RuntimeError(f"internal failure reading {name}")


def test_internal_error_in_a_hook_logs_one_line_and_returns(monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", '{"type": "console"}')
    listener = OpenLineageListener()
    with caplog.at_level(logging.WARNING):
        listener.on_task_instance_running(previous_state=None, task_instance=ExplodingTaskInstance())
        listener.on_task_instance_failed(
            previous_state=None, task_instance=ExplodingTaskInstance(), error="x"
        )
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lines) == 2, lines
    assert "on_task_instance_running failed" in lines[0]
    assert "internal failure" in lines[0]
    assert all(r.exc_info is None for r in caplog.records)  # no stack trace for it


def test_dag_run_hook_error_is_contained(monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", '{"type": "console"}')
    listener = OpenLineageListener()
    with caplog.at_level(logging.WARNING):
        listener.on_dag_run_running(dag_run=ExplodingTaskInstance(), msg="")
        assert listener._background().flush(30)  # a bound, not a timing: returns once sent
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lines) == 1, lines
    assert "could not be built" in lines[0]
    assert all(r.exc_info is None for r in caplog.records)


def test_dag_run_events_are_built_on_the_emitters_thread_from_a_copy(monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", '{"type": "console"}')
    built: list[tuple[threading.Thread, object, object]] = []

    def record(state, snapshot, msg):
        built.append((threading.current_thread(), snapshot, snapshot.conf))

    monkeypatch.setattr(listener_module, "dag_run_event", record)
    dag_run = types.SimpleNamespace(dag_id="d", run_id="r1", conf={"a": [1]}, state="success")
    listener = OpenLineageListener()
    listener.on_dag_run_success(dag_run=dag_run, msg="")
    dag_run.conf["a"].append(2)  # the scheduler's object changes after the hook: the event must not
    assert listener._background().flush(30)  # a bound, not a timing: returns once sent
    ((thread, snapshot, conf),) = built
    assert thread is not threading.current_thread()
    assert isinstance(snapshot, DagRunSnapshot)
    assert (snapshot.dag_id, snapshot.run_id, snapshot.state_value, conf) == (
        "d",
        "r1",
        "success",
        {"a": [1]},
    )
    assert not hasattr(snapshot, "partition_key")  # absent on the source, absent on the copy


class _OrmTaskInstance:
    """Stands in for the ORM TaskInstance the API server passes on "mark success/failed"."""

    __module__ = "airflow.models.taskinstance"

    def __init__(self, dag_run: object) -> None:
        self.dag_id, self.task_id, self.run_id = "d", "t", "r1"
        self.try_number, self.map_index, self.state, self.task = 1, -1, "success", None
        self.dag_run = dag_run


def test_a_state_marked_outside_the_task_is_built_on_the_emitters_thread_from_a_copy(monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", '{"type": "console"}')
    built: list[tuple[threading.Thread, object, object]] = []
    real_build = listener_module.build_manual_task_event

    def record(state, task_instance, error=None):
        built.append((threading.current_thread(), task_instance, task_instance.dag_run.conf))
        return real_build(state, task_instance, error)

    monkeypatch.setattr(listener_module, "build_manual_task_event", record)
    dag_run = types.SimpleNamespace(
        dag_id="d",
        run_id="r1",
        conf={"a": [1]},
        clear_number=0,
        logical_date=None,
        run_after=datetime.datetime(2025, 6, 1, tzinfo=datetime.UTC),
        state="running",
    )
    task_instance = _OrmTaskInstance(dag_run)
    listener = OpenLineageListener()
    before = dict(listener._background().counters)  # the emitter is process-wide: count from here
    listener.on_task_instance_success(previous_state=None, task_instance=task_instance)
    dag_run.conf["a"].append(2)  # the request's objects change after the hook: the event must not
    task_instance.try_number = 2
    emitter = listener._background()
    assert emitter.flush(5)
    ((thread, snapshot, conf),) = built
    assert thread is not threading.current_thread()
    assert (snapshot.dag_id, snapshot.task_id, snapshot.try_number, conf) == ("d", "t", 1, {"a": [1]})
    assert isinstance(snapshot.dag_run, DagRunSnapshot)
    after = emitter.counters
    assert (after["sent"] - before["sent"], after["failed"] - before["failed"]) == (1, 0)
