"""A deferred task: it defers to the triggerer once, then completes in a second runner."""

from __future__ import annotations

import datetime as dt

from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from airflow.sdk import DAG, BaseOperator
from diff_common import DEFAULTS, START


class DeferOnceOperator(BaseOperator):
    """Defers for a second, then finishes in ``execute_complete``."""

    def execute(self, context):
        self.defer(trigger=TimeDeltaTrigger(dt.timedelta(seconds=1)), method_name="execute_complete")

    def execute_complete(self, context, event=None):
        return "resumed"


with DAG(dag_id="diff_deferred", schedule=None, start_date=START, default_args=DEFAULTS) as deferred:
    DeferOnceOperator(task_id="defer_once")
