"""Shared bits of the differential corpus: dates, a no-op callable, default arguments."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import BaseOperator

#: Every DAG of the corpus starts here; runs are triggered by the harness with LOGICAL_DATE.
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
#: Past end dates keep the scheduler from creating runs of its own for scheduled DAGs.
END = dt.datetime(2025, 12, 31, tzinfo=dt.UTC)
DEFAULTS = {"owner": "diff", "retries": 0}


def noop(**_context) -> str:
    """The body of most corpus tasks: lineage is what is compared, not what the task does."""
    return "ok"


class NoisyOperator(BaseOperator):
    """Listed in ``disabled_for_operators`` by the harness (a module-level path): no task events."""

    def execute(self, context):
        return None
