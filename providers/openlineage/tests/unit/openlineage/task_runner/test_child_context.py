"""Processes a task starts inherit its lineage context; each attempt its own; user values win."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from receiver import Receiver
from test_task_lineage import _task_instance

from airflow.providers.openlineage.describe.events import TaskRunIdentity
from airflow.providers.openlineage.plugins.macros import (
    lineage_job_name,
    lineage_parent_id,
    lineage_root_parent_id,
    lineage_root_run_id,
    lineage_run_id,
)
from airflow.providers.openlineage.task_runner.child_context import (
    VARIABLES,
    ChildLineageContext,
    context_variables,
)
from airflow.providers.openlineage.task_runner.task_lineage import TaskLineage

READ_IN_CHILD = f"import json, os; print(json.dumps({{k: os.environ.get(k) for k in {VARIABLES!r}}}))"


def _send_to(monkeypatch, receiver: Receiver, in_thread: str = "True") -> None:
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(receiver.transport(timeout=5)))
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD", in_thread)


def _child_sees() -> dict[str, str | None]:
    """What a process started now (as BashOperator or a virtualenv task would) finds in its environment."""
    out = subprocess.run([sys.executable, "-c", READ_IN_CHILD], capture_output=True, text=True, timeout=60)
    return json.loads(out.stdout)


@pytest.fixture(autouse=True)
def _no_inherited_context(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_the_variables_name_the_task_run_as_parent_and_the_dag_run_as_root():
    ti = _task_instance()
    values = context_variables(TaskRunIdentity(ti, ti.dag_run))
    assert values["OPENLINEAGE_PARENT_ID"] == lineage_parent_id(ti)
    assert values["OPENLINEAGE_ROOT_PARENT_ID"] == lineage_root_parent_id(ti)
    parent = json.loads(values["OPENLINEAGE_CONTEXT"])["parent"]
    assert parent["run"] == {"runId": lineage_run_id(ti)}
    assert parent["job"] == {"namespace": "default", "name": lineage_job_name(ti)}
    assert parent["root"] == {
        "run": {"runId": lineage_root_run_id(ti)},
        "job": {"namespace": "default", "name": "lineage_dag"},
    }


def test_dbt_reads_the_context_as_we_meant_it():
    """``openlineage-integration-common`` (what ``dbt-ol`` uses) parses the variable we set."""
    dbt_utils = pytest.importorskip(
        "openlineage.common.provider.dbt.utils", reason="openlineage-integration-common not installed"
    )
    ti = _task_instance()
    context = ChildLineageContext.install(TaskRunIdentity(ti, ti.dag_run), ti.task)
    try:
        parent = dbt_utils.get_parent_run_metadata()
    finally:
        context.remove()
    assert (parent.job_namespace, parent.job_name, parent.run_id) == (
        "default",
        "lineage_dag.t",
        lineage_run_id(ti),
    )
    assert (parent.root_parent_job_name, parent.root_parent_run_id) == (
        "lineage_dag",
        lineage_root_run_id(ti),
    )


@pytest.mark.parametrize("where", ["worker", "task env", "kubernetes env_vars"])
def test_a_value_the_user_set_is_never_overwritten_nor_shadowed(monkeypatch, where):
    ti = _task_instance()
    if where == "worker":
        monkeypatch.setenv("OPENLINEAGE_PARENT_ID", "ns/user_job/0190c3b6-0000-7000-8000-000000000001")
    elif where == "task env":
        ti.task.env = {"OPENLINEAGE_PARENT_ID": "ns/user_job/0190c3b6-0000-7000-8000-000000000001"}
    else:
        ti.task.env_vars = [SimpleNamespace(name="OPENLINEAGE_CONTEXT", value="{}")]
    assert ChildLineageContext.install(TaskRunIdentity(ti, ti.dag_run), ti.task) is None
    seen = _child_sees()
    # None of ours is added: dbt reads OPENLINEAGE_CONTEXT first and would skip the user's parent.
    assert seen["OPENLINEAGE_CONTEXT"] is None
    assert seen["OPENLINEAGE_PARENT_ID"] == (
        "ns/user_job/0190c3b6-0000-7000-8000-000000000001" if where == "worker" else None
    )


@pytest.mark.parametrize("in_thread", ["True", "False"], ids=["thread", "fork"])
def test_each_attempt_in_one_process_hands_on_its_own_run_and_leaves_nothing(monkeypatch, in_thread):
    """``airflow dags test``: two attempts in one process; a child of each sees that attempt's run."""
    with Receiver("healthy") as receiver:
        _send_to(monkeypatch, receiver, in_thread)
        lineage = TaskLineage()
        seen = []
        for try_number in (1, 2):
            ti = _task_instance(try_number)
            lineage.on_running(ti)
            seen.append(_child_sees())
            lineage.on_terminal("COMPLETE", ti)
            lineage.finish()
            assert not any(name in os.environ for name in VARIABLES)  # restored at the attempt's end
        assert receiver.wait_for(4, timeout=10)
    assert [s["OPENLINEAGE_PARENT_ID"] for s in seen] == [
        lineage_parent_id(_task_instance(1)),
        lineage_parent_id(_task_instance(2)),
    ]
    assert seen[0]["OPENLINEAGE_PARENT_ID"] != seen[1]["OPENLINEAGE_PARENT_ID"]


def test_a_deferred_segment_removes_its_variables_and_the_option_turns_it_off(monkeypatch):
    with Receiver("healthy") as receiver:
        _send_to(monkeypatch, receiver)
        lineage = TaskLineage()
        ti = _task_instance()
        lineage.on_running(ti)
        assert os.environ["OPENLINEAGE_PARENT_ID"] == lineage_parent_id(ti)
        lineage.finish()  # the runner defers: the segment ends without a terminal event
        assert "OPENLINEAGE_PARENT_ID" not in os.environ
        monkeypatch.setenv("AIRFLOW__OPENLINEAGE__CHILD_PROCESS_PARENT_JOB_INFO", "False")
        ti = _task_instance(try_number=2)
        lineage.on_running(ti)
        assert _child_sees()["OPENLINEAGE_CONTEXT"] is None
        lineage.on_terminal("COMPLETE", ti)
        lineage.finish()


def _container_ti(operator_class, **kwargs):
    """A real container operator in a DAG, and a task instance running it."""
    from airflow.sdk import DAG
    from test_task_lineage import WHEN

    with DAG("lineage_dag", schedule=None, start_date=WHEN):
        task = operator_class(task_id="t", image="busybox", **kwargs)
    ti = _task_instance()
    ti.task = task
    return task, ti


def test_a_pod_gets_the_context_only_when_kubernetes_is_opted_in(monkeypatch):
    pod = pytest.importorskip(
        "airflow.providers.cncf.kubernetes.operators.pod", reason="cncf-kubernetes not installed"
    )
    task, ti = _container_ti(pod.KubernetesPodOperator, env_vars={"KEEP": "me"})
    identity = TaskRunIdentity(ti, ti.dag_run)

    def pod_env() -> dict[str, str]:
        (container,) = task.build_pod_request_obj(dry_run=True).spec.containers
        return {v.name: v.value for v in container.env or []}

    off = ChildLineageContext.install(identity, task, processes=False, container_option=False)
    assert off is None
    assert "OPENLINEAGE_PARENT_ID" not in pod_env()
    context = ChildLineageContext.install(identity, task, processes=False, container_option=True)
    env = pod_env()
    assert env["KEEP"] == "me"
    assert env["OPENLINEAGE_PARENT_ID"] == lineage_parent_id(ti)
    assert json.loads(env["OPENLINEAGE_CONTEXT"])["parent"]["run"]["runId"] == lineage_run_id(ti)
    assert "OPENLINEAGE_PARENT_ID" not in os.environ  # processes=False: the worker's own env untouched
    context.remove()
    assert set(pod_env()) == {"KEEP"}  # the operator's own env_vars back at the attempt's end


def test_a_docker_container_gets_the_context_through_the_option_and_user_values_win(monkeypatch):
    docker = pytest.importorskip(
        "airflow.providers.docker.operators.docker", reason="docker provider not installed"
    )
    task, ti = _container_ti(docker.DockerOperator, environment={"KEEP": "me"})
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__DOCKER_INJECT_PARENT_JOB_INFO", "True")
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__CHILD_PROCESS_PARENT_JOB_INFO", "False")
    with Receiver("healthy") as receiver:
        _send_to(monkeypatch, receiver)
        lineage = TaskLineage()
        lineage.on_running(ti)
        assert task.environment["OPENLINEAGE_ROOT_PARENT_ID"] == lineage_root_parent_id(ti)
        assert task.environment["KEEP"] == "me"
        assert "OPENLINEAGE_CONTEXT" not in os.environ
        lineage.on_terminal("COMPLETE", ti)
        lineage.finish()
    assert task.environment == {"KEEP": "me"}
    task.environment = {"OPENLINEAGE_PARENT_ID": "ns/job/0190c3b6-0000-7000-8000-000000000001"}
    assert ChildLineageContext.install(TaskRunIdentity(ti, ti.dag_run), task, container_option=True) is None
    assert task.environment == {"OPENLINEAGE_PARENT_ID": "ns/job/0190c3b6-0000-7000-8000-000000000001"}


def test_variables_leave_only_after_the_sender_is_done_with_the_environment(monkeypatch):
    """
    The OpenLineage client reads ``os.environ`` while it sends (its ``OPENLINEAGE__*`` configuration):
    deleting a key under it raises ``KeyError`` in the sender. The attempt's variables are removed only
    once its events are sent (found by today's system tests: a START lost this way).
    """
    import time

    from airflow.providers.openlineage.config import client_config

    sent = []

    class EnvironmentReadingClient:
        def emit(self, event) -> None:
            for _name, _value in os.environ.items():  # as the client's configuration loader does
                time.sleep(0.0005)
            sent.append(event.eventType.value)

    monkeypatch.setattr(client_config, "build_client", lambda *args, **kwargs: EnvironmentReadingClient())
    monkeypatch.setattr(client_config, "resolved_client_config", lambda: {})
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", '{"type": "console"}')
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD", "True")
    lineage = TaskLineage()
    ti = _task_instance()
    lineage.on_running(ti)
    lineage.on_terminal("COMPLETE", ti)  # at once: START is still being sent
    lineage.finish()
    assert sent == ["START", "COMPLETE"]
    assert not any(name in os.environ for name in VARIABLES)
