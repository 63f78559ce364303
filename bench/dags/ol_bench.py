"""The benchmark workload: N trivial tasks (``OL_BENCH_TASKS``, default 30)."""

from __future__ import annotations

import datetime as dt
import os

from airflow.sdk import DAG, task

with DAG(dag_id="ol_bench", schedule=None, start_date=dt.datetime(2026, 1, 1)) as bench_dag:

    @task
    def trivial(i):
        return i

    for _i in range(int(os.environ.get("OL_BENCH_TASKS", "30"))):
        trivial.override(task_id=f"t{_i:03d}")(_i)
