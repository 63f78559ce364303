"""
Extraction end to end under the real Task SDK supervisor: every source of lineage a real DAG uses.

Built-in Python/Bash extractors (source code), a custom extractor from ``[openlineage] extractors``,
lineage methods that read a Connection, a Variable and an XCom through the supervisor, Assets as
inlets/outlets, assets reported through the hook-lineage collector, and SQL on SQLite through
common-sql's ``SQLExecuteQueryOperator`` (datasets, ``sql`` facet and a child query job). Custom run
facets from ``[openlineage] custom_run_facets``. Each event is schema-valid; each dataset is checked
by its exact namespace and name.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import defaultdict

import pytest
from e2e_support import MODES, SECRET_PASSWORD, configure_lineage
from receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

DAG_ID = "ol_e2e_extraction"
TASKS = [
    "python_task",
    "bash_task",
    "custom_extracted",
    "lineage_methods",
    "sql_insert",
    "hook_reporter",
    "alias_writer",
]


@pytest.fixture(scope="module")
def airflow(shared_airflow, tmp_path_factory):
    database = tmp_path_factory.mktemp("extraction") / "lineage.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE a (id INTEGER, name TEXT)")
        db.execute("CREATE TABLE b (id INTEGER, name TEXT)")
        db.execute("INSERT INTO a VALUES (1, 'one'), (2, 'two')")
    shared_airflow.env["AIRFLOW_CONN_LINEAGE_SQLITE"] = json.dumps(
        {"conn_type": "sqlite", "host": str(database)}
    )
    shared_airflow.sqlite_path = database.resolve()
    yield shared_airflow
    del shared_airflow.env["AIRFLOW_CONN_LINEAGE_SQLITE"]


def _run(env, mode: str, receiver: Receiver) -> list[dict]:
    configure_lineage(
        env,
        transport=json.dumps(receiver.transport()),
        execute_in_thread=MODES[mode],
        extractors="ol_e2e_lineage_support.CustomExtractor",
        custom_run_facets="ol_e2e_lineage_support.e2e_run_facets;ol_e2e_lineage_support.broken_run_facets",
    )
    result = env.dags_test(DAG_ID)
    states = {k: v for k, v in env.task_states(DAG_ID).items()}
    assert all(states.get(task) == "success" for task in TASKS), (states, result.stdout[-3000:])
    # 6 tasks x START/COMPLETE + START/COMPLETE of sql_insert's query job
    assert receiver.wait_for(len(TASKS) * 2 + 2, timeout=30), len(receiver.events)
    time.sleep(1)
    return list(receiver.events)


def _datasets(items: list[dict]) -> list[tuple[str, str]]:
    return [(d["namespace"], d["name"]) for d in items]


@pytest.mark.parametrize(
    "mode",
    [
        "fork",
        pytest.param("thread", marks=pytest.mark.slow),
    ],
)
def test_every_lineage_source_reaches_the_events(airflow, spec, mode):
    with Receiver("healthy") as receiver:
        events = _run(airflow, mode, receiver)
        raw = b"".join(receiver.raw)

    for event in events:
        spec.validate_event(event)
    by_job: dict[str, dict[str, dict]] = defaultdict(dict)
    for event in events:
        by_job[event["job"]["name"]][event["eventType"]] = event

    def job(task_id: str) -> dict[str, dict]:
        return by_job[f"{DAG_ID}.{task_id}"]

    # PythonOperator: its callable's source, unknownSourceAttribute naming the operator, custom facets.
    python = job("python_task")
    source = python["COMPLETE"]["job"]["facets"]["sourceCode"]
    assert source["language"] == "python"
    assert source["sourceCode"].startswith("def produce_value():")
    unknown = python["COMPLETE"]["run"]["facets"]["unknownSourceAttribute"]["unknownItems"]
    assert [item["name"] for item in unknown] == ["PythonOperator"]
    assert python["START"]["run"]["facets"]["e2eCustom"]["state"] == "running"
    assert python["COMPLETE"]["run"]["facets"]["e2eCustom"] == {
        **python["COMPLETE"]["run"]["facets"]["e2eCustom"],
        "state": "success",
        "task": "python_task",
    }

    # BashOperator: the rendered command, with the connection password masked; assets as datasets.
    bash = job("bash_task")["COMPLETE"]
    assert bash["job"]["facets"]["sourceCode"]["language"] == "bash"
    assert (
        bash["job"]["facets"]["sourceCode"]["sourceCode"]
        == "echo connecting with *** >/dev/null && echo done"
    )
    assert SECRET_PASSWORD.encode() not in raw
    assert _datasets(bash["inputs"]) == [("s3://raw-bucket", "in/data.csv")]
    assert _datasets(bash["outputs"]) == [("file", "/tmp/ol-e2e/out.csv")]

    # A custom extractor configured by import path.
    custom = job("custom_extracted")
    for event_type in ("START", "COMPLETE"):
        assert _datasets(custom[event_type]["inputs"]) == [("kafka://broker:9092", "orders")]
        assert _datasets(custom[event_type]["outputs"]) == [("s3://warehouse", "topics/orders")]

    # Lineage methods that read a Connection (host db), a Variable and an upstream XCom.
    methods = job("lineage_methods")
    assert _datasets(methods["START"]["inputs"]) == [("postgres://db:5432", "public.start")]
    assert _datasets(methods["COMPLETE"]["outputs"]) == [("postgres://db:5432", "plain-42.xcom-table")]

    # SQL on SQLite: the statement common-sql's hook ran, parsed into datasets, on the task event ...
    namespace = f"sqlite://{airflow.sqlite_path}"
    sql_task = job("sql_insert")["COMPLETE"]
    assert _datasets(sql_task["inputs"]) == [(namespace, "main.a")]
    assert _datasets(sql_task["outputs"]) == [(namespace, "main.b")]
    assert sql_task["job"]["facets"]["sql"]["query"] == "INSERT INTO b (id, name) SELECT id, name FROM a"
    lineage_fields = sql_task["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert lineage_fields["name"]["inputFields"][0]["name"] == "main.a"
    # ... and as a child query job parented to the task's run.
    query = job("sql_insert.hll_query.1")
    assert set(query) == {"START", "COMPLETE"}
    assert query["COMPLETE"]["job"]["facets"]["jobType"]["jobType"] == "QUERY"
    assert query["COMPLETE"]["run"]["facets"]["parent"]["run"]["runId"] == sql_task["run"]["runId"]
    assert _datasets(query["COMPLETE"]["outputs"]) == [(namespace, "main.b")]

    # A TaskFlow task with no extractor: the assets its hook reported.
    hooked = job("hook_reporter")["COMPLETE"]
    assert _datasets(hooked["inputs"]) == [("s3://hooked-bucket", "input.parquet")]
    assert _datasets(hooked["outputs"]) == [("file", "/tmp/ol-e2e/hooked.csv")]

    # An asset attached at run time through an AssetAlias.
    alias = job("alias_writer")
    assert _datasets(alias["COMPLETE"]["outputs"]) == [("s3://alias-bucket", "resolved.csv")]
    assert alias["START"]["outputs"] == []

    # The DAG run's COMPLETE comes from `dags test` too (the policy e2e test relies on it arriving).
    assert any(e["job"]["name"] == DAG_ID and e["eventType"] == "COMPLETE" for e in events)

    # Order per run: START before the terminal event.
    per_run: dict[str, list[str]] = defaultdict(list)
    for event in events:
        if event["job"]["name"] != DAG_ID:  # `dags test` fires only some DAG-run hooks
            per_run[event["run"]["runId"]].append(event["eventType"])
    assert all(types[0] == "START" and len(types) == 2 for types in per_run.values()), per_run
