"""DAGs for the spool tests: twenty independent tasks, and a task runner killed right after spooling."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from pathlib import Path

from airflow.sdk import DAG, task

START = dt.datetime(2026, 1, 1)
TASKS = 20

with DAG(dag_id="ol_e2e_spool_twenty", schedule=None, start_date=START, max_active_tasks=4) as twenty:
    for index in range(TASKS):

        @task(task_id=f"t{index:02d}")
        def noop():
            return None

        noop()


with DAG(dag_id="ol_e2e_spool_killed", schedule=None, start_date=START) as killed:

    @task(retries=0)
    def killed_after_spooling():
        """Waits until its START is in the spool (the backend refuses it), then the runner is SIGKILLed."""
        spool = Path(os.environ["AIRFLOW__OPENLINEAGE__SPOOL_DIR"])
        end = time.monotonic() + 30

        def spooled() -> list[Path]:  # renamed into place: a ``.tmp-`` file is still being written
            return [p for p in spool.glob("*.START.json") if not p.name.startswith(".")]

        while time.monotonic() < end and not spooled():
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGKILL)

    killed_after_spooling()
