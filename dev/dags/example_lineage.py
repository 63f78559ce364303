"""Example DAG of the demo: a task group, a mapped task, assets and a failing-then-skipped path."""

from __future__ import annotations

import datetime as dt

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Asset, task, task_group

RAW = Asset("file:///tmp/openlineage-demo/raw.csv")
CLEAN = Asset("file:///tmp/openlineage-demo/clean.csv")

with DAG(
    dag_id="example_lineage",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1),
    catchup=False,
    tags=["demo", "openlineage"],
    doc_md="Demo DAG of the OpenLineage provider.",
) as dag:
    extract = BashOperator(task_id="extract", bash_command="echo extracting", outlets=[RAW])

    @task_group
    def transform():
        @task(inlets=[RAW], outlets=[CLEAN])
        def clean() -> int:
            return 3

        @task
        def square(x: int) -> int:
            return x * x

        square.expand(x=[1, 2, clean()])

    extract >> transform()
