"""Run ids follow the documented scheme (test vectors of the provider this one replaces); TI helpers."""

from __future__ import annotations

import datetime as dt

from airflow.providers.openlineage.describe.run_ids import (
    build_dag_run_ol_run_id,
    build_task_instance_ol_run_id,
    get_root_information_from_dagrun_conf,
    template_context,
)
from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter

INSTANT = dt.datetime(2020, 1, 1, 1, 1, 1, tzinfo=dt.UTC)


def test_task_run_id_vector():
    assert (
        build_task_instance_ol_run_id("dag_id", "task_id", 1, INSTANT, -1)
        == "016f5e9e-c4c8-77e3-bcbe-1e445483cbe7"
    )
    assert (
        OpenLineageAdapter.build_task_instance_run_id(
            dag_id="dag_id", task_id="task_id", try_number=1, logical_date=INSTANT, map_index=-1
        )
        == "016f5e9e-c4c8-77e3-bcbe-1e445483cbe7"
    )


def test_dag_run_id_vector():
    assert build_dag_run_ol_run_id("dag_id", INSTANT, 0) == "016f5e9e-c4c8-7ada-a039-cd6b85de2727"
    assert build_dag_run_ol_run_id("dag_id", INSTANT, 1) != build_dag_run_ol_run_id("dag_id", INSTANT, 0)


def test_retries_and_map_indices_get_new_ids():
    ids = {build_task_instance_ol_run_id("d", "t", try_, INSTANT, m) for try_ in (1, 2) for m in (-1, 0, 1)}
    assert len(ids) == 6


def test_root_from_conf_requires_complete_valid_triple():
    run_id = "016f5e9e-c4c8-7ada-a039-cd6b85de2727"
    full = {
        "openlineage": {"rootParentRunId": run_id, "rootParentJobNamespace": "ns", "rootParentJobName": "j"}
    }
    assert get_root_information_from_dagrun_conf(full)["root_parent_run_id"] == run_id
    partial = {"openlineage": {"rootParentRunId": run_id}}
    assert get_root_information_from_dagrun_conf(partial) == {}
    bad_uuid = {"openlineage": {"parentRunId": "nope", "parentJobNamespace": "ns", "parentJobName": "j"}}
    assert get_root_information_from_dagrun_conf(bad_uuid) == {}


class _RuntimeTI:
    """A runtime TI's two ways to its context: the kept one, and the call that re-derives it."""

    def __init__(self, kept: dict | None) -> None:
        self._cached_template_context = kept
        self.calls = 0

    def get_template_context(self) -> dict:
        self.calls += 1
        return {"dag_run": "derived"}


def test_template_context_reads_the_context_the_runner_kept():
    ti = _RuntimeTI({"dag_run": "kept", "outlet_events": "accessors"})
    assert template_context(ti)["outlet_events"] == "accessors"
    assert ti.calls == 0


def test_template_context_is_derived_where_none_was_kept():
    for kept in (None, {}):  # not built yet; or built without the run (no server context)
        ti = _RuntimeTI(kept)
        assert template_context(ti)["dag_run"] == "derived"
        assert ti.calls == 1
