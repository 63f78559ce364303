"""DAG-run deadlines (Airflow 3.1+): the run's deadlines and their alerts appear on its events.

Both deadlines lie far past the fixed logical date, so neither is missed and no callback runs.
"""

from __future__ import annotations

import datetime as dt

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, AsyncCallback, DeadlineAlert, DeadlineReference
from diff_common import DEFAULTS, START, noop


async def on_deadline_missed(**_context) -> None:
    """Never called: the deadlines lie years after the run."""


with DAG(
    "diff_deadlines",
    schedule=None,
    start_date=START,
    default_args=DEFAULTS,
    tags=["diff"],
    deadline=[
        DeadlineAlert(
            reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
            interval=dt.timedelta(days=3650),
            callback=AsyncCallback(on_deadline_missed, kwargs={"team": "diff"}),
            name="ten years after the logical date",
        ),
        DeadlineAlert(
            reference=DeadlineReference.FIXED_DATETIME(dt.datetime(2099, 1, 1, tzinfo=dt.UTC)),
            interval=dt.timedelta(hours=1),
            callback=AsyncCallback("diff_deadlines.on_deadline_missed"),
        ),
    ],
):
    PythonOperator(task_id="within_deadline", python_callable=noop)
