"""``utils.utils.build_task_event_run_facets`` / ``build_task_event_job_facets`` (2.20.3's names)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

from airflow.providers.openlineage.utils.utils import build_task_event_job_facets, build_task_event_run_facets

WHEN = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
PARENT = "01890f6e-0000-7000-8000-000000000001"


def _dag_and_task():
    with DAG("facets_dag", schedule=None, tags=["b", "a"], doc_md="the doc", start_date=WHEN) as dag:
        task = EmptyOperator(task_id="t", owner="bob")
    return dag, task


def test_job_facets_are_the_events_job_facets():
    dag, task = _dag_and_task()
    facets = build_task_event_job_facets(task=task, dag=dag, additional_job_facets={"custom": "kept"})
    assert facets["custom"] == "kept"
    assert facets["documentation"].description == "the doc"
    assert [o.name for o in facets["ownership"].owners] == ["bob"]
    assert [t.key for t in facets["tags"].tags] == ["a", "b"]
    assert facets["jobType"].jobType == "TASK"


def test_run_facets_name_the_parent_and_describe_the_task():
    dag, task = _dag_and_task()
    task_instance = SimpleNamespace(dag_id="facets_dag", task_id="t", try_number=1, map_index=-1, task=task)
    dag_run = SimpleNamespace(
        conf={}, data_interval_start=WHEN, data_interval_end=WHEN, run_id="manual__1", dag_id="facets_dag"
    )
    facets = build_task_event_run_facets(
        task_instance=task_instance,
        dag_run=dag_run,
        dag=dag,
        task=task,
        task_uuid="task-uuid",
        ti_state="running",
        parent_run_id=PARENT,
        additional_run_facets={"extra": "kept"},
    )
    assert facets["extra"] == "kept"
    assert facets["parent"].run.runId == PARENT
    assert facets["parent"].job.name == "facets_dag"
    assert facets["airflow"].taskUuid == "task-uuid"
    assert facets["airflow"].task["task_id"] == "t"
    assert facets["nominalTime"].nominalStartTime == WHEN.isoformat()
    assert facets["processing_engine"].name == "Airflow"


def test_unknown_source_attribute_is_a_plain_dict_as_today():
    from openlineage.client.serde import Serde

    from airflow.providers.openlineage.utils.utils import get_unknown_source_attribute_run_facet

    _, task = _dag_and_task()
    facet = get_unknown_source_attribute_run_facet(task)["unknownSourceAttribute"]
    assert isinstance(facet, dict)
    (item,) = facet["unknownItems"]
    assert item["name"] == "EmptyOperator"
    assert item["type"] == "operator"
    assert item["properties"]["task_id"] == "t"
    assert facet["_producer"].startswith("https://github.com/apache/airflow")
    assert Serde.to_dict({"facet": facet})["facet"]["unknownItems"][0]["name"] == "EmptyOperator"
