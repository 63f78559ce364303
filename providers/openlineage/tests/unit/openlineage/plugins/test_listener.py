"""The listener never raises into Airflow: an internal error becomes one WARNING line."""

from __future__ import annotations

import logging

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


def test_dag_run_hook_error_is_contained(caplog):
    listener = OpenLineageListener()
    with caplog.at_level(logging.WARNING):
        listener.on_dag_run_running(dag_run=ExplodingTaskInstance(), msg="")
    assert any("on_dag_run_running failed" in r.getMessage() for r in caplog.records)
