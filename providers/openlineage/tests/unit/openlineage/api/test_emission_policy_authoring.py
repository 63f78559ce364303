"""DAG-authoring overrides of the emission policy, on real DAG/task objects, and configured locks."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task

from airflow.providers.openlineage.api.emission_policy import extend_global_openlineage_emission_policy
from airflow.providers.openlineage.describe import emission_policy as ep


def _policy(monkeypatch, rules):
    from airflow.providers.openlineage import conf

    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EMISSION_POLICY", json.dumps(rules))
    conf.clear_cache()


def _dag():
    with DAG("authoring", schedule=None, start_date=dt.datetime(2026, 1, 1)) as dag:
        first = BashOperator(task_id="first", bash_command="echo 1")
    return dag, first


def test_task_override_beats_configured_rule(monkeypatch):
    _policy(monkeypatch, [{"scope": {}, "controls": {"include_source_code": True, "emit": True}}])
    dag, first = _dag()
    assert extend_global_openlineage_emission_policy(first, include_source_code=False, emit=False) is first
    policy = ep.resolve_task_emission_policy(first, dag.dag_id, first.task_id)
    assert policy.include_source_code is False
    assert policy.emit is False


def test_dag_override_copies_task_flags_to_existing_tasks_only(monkeypatch):
    _policy(monkeypatch, [])
    dag, first = _dag()
    extend_global_openlineage_emission_policy(dag, emit_dag_events=False, hook_lineage=False)
    with dag:
        later = BashOperator(task_id="later", bash_command="echo 2")
    assert ep.resolve_dag_emission_policy(dag.dag_id, dag).emit is False
    assert ep.resolve_task_emission_policy(first, dag.dag_id, "first").hook_lineage is False
    assert ep.resolve_task_emission_policy(later, dag.dag_id, "later").hook_lineage is True


def test_specific_flag_beats_emit_and_calls_merge(monkeypatch):
    _policy(monkeypatch, [])
    dag, first = _dag()
    extend_global_openlineage_emission_policy(first, emit=False, emit_task_events=True)
    extend_global_openlineage_emission_policy(first, include_full_task_info=True)
    policy = ep.resolve_task_emission_policy(first, dag.dag_id, "first")
    assert policy.emit is True
    assert policy.include_full_task_info is True


def test_locked_field_ignores_the_author_with_one_warning(monkeypatch, caplog):
    _policy(
        monkeypatch,
        [
            {"scope": {}, "controls": {"include_source_code": False}, "locked": True},
            {"scope": {"dag_id": "authoring"}, "controls": {"emit": True}, "locked": True},
        ],
    )
    dag, first = _dag()
    extend_global_openlineage_emission_policy(first, include_source_code=True, emit=False, hook_lineage=False)
    extend_global_openlineage_emission_policy(dag, emit_dag_events=False)
    with caplog.at_level(logging.WARNING):
        policy = ep.resolve_task_emission_policy(first, dag.dag_id, "first")
        dag_policy = ep.resolve_dag_emission_policy(dag.dag_id, dag)
    assert policy.include_source_code is False
    assert policy.emit is True
    assert policy.hook_lineage is False  # not locked: the author wins
    assert dag_policy.emit is True
    locked = [r for r in caplog.records if "is locked by" in r.getMessage()]
    assert len(locked) == 3, [r.getMessage() for r in locked]


def test_xcomarg_and_bad_objects(monkeypatch, caplog):
    _policy(monkeypatch, [])
    with DAG("authoring_tf", schedule=None, start_date=dt.datetime(2026, 1, 1)):

        @task
        def produce():
            return 1

        arg = produce()
    assert extend_global_openlineage_emission_policy(arg, emit=False) is arg
    assert ep.resolve_task_emission_policy(arg.operator, "authoring_tf", "produce").emit is False
    with pytest.raises(TypeError):
        extend_global_openlineage_emission_policy("not a dag", emit=False)
    with caplog.at_level(logging.WARNING):
        extend_global_openlineage_emission_policy(arg)
    assert any("without any flag" in r.getMessage() for r in caplog.records)
