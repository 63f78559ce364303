"""DAGs for the scheduler / API-server tests: 50 catch-up runs, and a task the test marks by REST."""

from __future__ import annotations

import datetime as dt

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task

with DAG(
    dag_id="ol_e2e_fifty_runs",
    schedule="@daily",
    start_date=dt.datetime(2026, 1, 1),
    end_date=dt.datetime(2026, 2, 19),  # 50 daily runs, all created by the scheduler's catch-up
    catchup=True,
    max_active_runs=50,
) as fifty_runs:
    EmptyOperator(task_id="nothing")  # the scheduler completes it itself: only DAG-run events flow


with DAG(dag_id="ol_e2e_mark", schedule=None, start_date=dt.datetime(2026, 1, 1)) as mark_dag:

    @task(retries=0)
    def to_be_marked():
        raise RuntimeError("fails, then an operator marks it success through the REST API")

    to_be_marked()
