"""Twenty independent no-op tasks: they spread over the Celery workers' four slots."""

from __future__ import annotations

import datetime as dt

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

TASKS = 20


def noop() -> str:
    return "ok"


with DAG("ol_celery_fanout", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False):
    for n in range(TASKS):
        PythonOperator(task_id=f"noop_{n:02d}", python_callable=noop)
