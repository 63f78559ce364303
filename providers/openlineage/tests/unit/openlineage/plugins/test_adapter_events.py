"""2.20.3's per-event adapter methods: events built from loose values, valid and never raising."""

from __future__ import annotations

import datetime as dt
import logging

from openlineage.client.event_v2 import Dataset
from openlineage.client.serde import Serde

from airflow.providers.openlineage.extractors.base import OperatorLineage
from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter

RUN_ID = "01890f6e-0000-7000-8000-000000000001"
WHEN = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


class RecordingClient:
    def __init__(self) -> None:
        self.events: list = []

    def emit(self, event) -> None:
        self.events.append(event)


def _as_json(event) -> dict:
    return Serde.to_dict(event)


def test_task_events_carry_the_lineage_and_the_loose_values(spec):
    client = RecordingClient()
    adapter = OpenLineageAdapter(client=client)
    lineage = OperatorLineage(inputs=[Dataset(namespace="s3://b", name="in")], outputs=[])
    common = dict(
        run_id=RUN_ID,
        job_name="dag.task",
        nominal_start_time="2025-06-01T00:00:00+00:00",
        nominal_end_time=None,
        owners=["bob", "alice"],
        tags=["t"],
        job_description="does things",
    )
    adapter.start_task(event_time=WHEN.isoformat(), task=lineage, **common)
    adapter.complete_task(end_time=WHEN.isoformat(), task=lineage, **common)
    adapter.fail_task(end_time=WHEN.isoformat(), task=None, error=ValueError("boom"), **common)
    start, complete, fail = (_as_json(e) for e in client.events)
    for event in (start, complete, fail):
        spec.validate_event(event)
    assert [e["eventType"] for e in (start, complete, fail)] == ["START", "COMPLETE", "FAIL"]
    assert start["inputs"][0]["name"] == "in"
    assert [o["name"] for o in start["job"]["facets"]["ownership"]["owners"]] == ["alice", "bob"]
    assert start["job"]["facets"]["jobType"]["jobType"] == "TASK"
    assert start["run"]["facets"]["nominalTime"]["nominalStartTime"] == "2025-06-01T00:00:00+00:00"
    assert fail["run"]["facets"]["errorMessage"]["message"] == "boom"
    assert fail["inputs"] == []


def test_dag_start_event(spec):
    client = RecordingClient()
    adapter = OpenLineageAdapter(client=client)
    adapter.dag_started(
        dag_id="dag",
        run_id="manual__1",
        logical_date=WHEN,
        start_date=WHEN,
        nominal_start_time=None,
        nominal_end_time=None,
        owners=["airflow"],
        tags=[],
        run_facets={},
        clear_number=0,
        job_description=None,
        is_asset_triggered=False,
    )
    (event,) = (_as_json(e) for e in client.events)
    spec.validate_event(event)
    assert event["run"]["runId"] == adapter.build_dag_run_id("dag", WHEN, 0)
    assert event["job"]["facets"]["jobType"]["jobType"] == "DAG"


def test_a_value_that_cannot_be_built_is_one_warning(caplog):
    client = RecordingClient()
    with caplog.at_level(logging.WARNING):
        result = OpenLineageAdapter(client=client).dag_started(
            dag_id="dag",
            run_id="manual__1",
            logical_date=WHEN,
            start_date="not a datetime",
            nominal_start_time=None,
            nominal_end_time=None,
            owners=None,
            tags=[],
            run_facets={},
            clear_number=0,
            job_description=None,
            is_asset_triggered=False,
        )
    assert result is None
    assert client.events == []
    assert "could not build the DAG run START event" in caplog.text
