"""One DAG per schedule kind: the ``airflow.dag`` facet's timetable fields are compared for each."""

from __future__ import annotations

import datetime as dt

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import (
    DAG,
    Asset,
    AssetOrTimeSchedule,
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    DeltaDataIntervalTimetable,
    DeltaTriggerTimetable,
    MultipleCronTriggerTimetable,
)
from diff_common import DEFAULTS, END, START, noop

SCHEDULES = {
    "none": None,
    "once": "@once",
    "preset_daily": "@daily",
    "cron": "0 3 * * 1",
    "timedelta": dt.timedelta(hours=6),
    "cron_trigger": CronTriggerTimetable("0 1 * * *", timezone="UTC"),
    "cron_trigger_interval": CronTriggerTimetable(
        "0 2 * * *", timezone="Europe/Paris", interval=dt.timedelta(hours=1)
    ),
    "delta_trigger": DeltaTriggerTimetable(dt.timedelta(hours=2)),
    "cron_data_interval": CronDataIntervalTimetable("30 4 * * *", timezone="UTC"),
    "delta_data_interval": DeltaDataIntervalTimetable(dt.timedelta(days=2)),
    "multiple_cron": MultipleCronTriggerTimetable("0 5 * * *", "0 17 * * *", timezone="UTC"),
    # EventsTimetable is left out: Airflow 3.3.2 cannot serialize it ("'_summary'").
    "delta_trigger_interval": DeltaTriggerTimetable(dt.timedelta(days=1), interval=dt.timedelta(hours=3)),
    "asset": Asset("s3://diff-schedules/never-updated-a.csv"),
    "asset_list": [Asset("s3://diff-schedules/never-updated-b.csv"), Asset("gs://diff-schedules/c")],
    "asset_expression": (Asset("s3://diff-schedules/x") & Asset("s3://diff-schedules/y"))
    | Asset("file:///tmp/diff/z"),
    "asset_or_time": AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 6 * * *", timezone="UTC"), assets=[Asset("s3://diff-schedules/t")]
    ),
}

for _name, _schedule in SCHEDULES.items():
    with DAG(
        dag_id=f"diff_schedule_{_name}",
        schedule=_schedule,
        start_date=START,
        end_date=END,
        default_args=DEFAULTS,
        tags=["diff", "schedule"],
    ) as _dag:
        PythonOperator(task_id="run", python_callable=noop)
    globals()[f"dag_{_name}"] = _dag
