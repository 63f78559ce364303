"""When lineage sends START from this task runner, a thread (started at import) is running."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, task
from ol_e2e_lineage_support import start_thread_in_task_runner

start_thread_in_task_runner(hold_lock=False)

with DAG(dag_id="ol_e2e_threads", schedule=None, start_date=dt.datetime(2026, 1, 1)):

    @task
    def runs_beside_a_thread():
        return "ok"

    runs_beside_a_thread()
