"""
Every way Airflow runs a task attempt, for the one-START-one-terminal-event tests.

``ol_e2e_attempts`` runs under a real scheduler, triggerer and api-server; ``ol_e2e_attempts_in_process``
is what of it ``airflow dags test`` can run in one process (no runner to kill, nothing to mark).
Poke and trigger intervals are >= 3 s: Airflow's supervisor may notice a runner's exit only at its
next ``select()`` timeout (``[workers] min_heartbeat_interval``, 1 s in these tests).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time

from airflow.providers.standard.operators.python import ShortCircuitOperator
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from airflow.sdk import DAG, BaseOperator, task


class WaitForTrigger(BaseOperator):
    """Defers to the triggerer for 3 s, then finishes in a new runner."""

    def execute(self, context):
        self.defer(trigger=TimeDeltaTrigger(dt.timedelta(seconds=3)), method_name="resume")

    def resume(self, context, event=None):
        return "resumed"


def _poked_before(**context) -> bool:
    return context["task_reschedule_count"] >= 1  # False at the first poke, True at the second


def _attempts_dag(dag_id: str, *, out_of_process: bool) -> DAG:
    with DAG(dag_id=dag_id, schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False) as dag:

        @task
        def plain_python():
            return 42

        @task.bash
        def plain_bash():
            return "echo plain bash"

        @task
        def mapped(value):
            return value * 2

        @task(retries=1, retry_delay=dt.timedelta(seconds=1))
        def flaky(**context):
            if context["ti"].try_number == 1:
                raise RuntimeError("fails on its first try")
            return "second try"

        @task(retries=0)
        def fails():
            raise RuntimeError("fails for good")

        @task(trigger_rule="all_done")
        def after_all_done():
            return "ran after a failure"

        @task
        def skipped_by_short_circuit():
            return "never runs"

        plain_python()
        plain_bash()
        mapped.expand(value=[1, 2, 3])
        flaky()
        fails() >> after_all_done()
        ShortCircuitOperator(task_id="short_circuit", python_callable=lambda: False) >> (
            skipped_by_short_circuit()
        )
        WaitForTrigger(task_id="deferrable")
        PythonSensor(
            task_id="reschedule_sensor", mode="reschedule", poke_interval=3, python_callable=_poked_before
        )

        if out_of_process:

            @task(retries=0)
            def killed():
                time.sleep(3)  # START is out by now
                os.kill(os.getpid(), signal.SIGKILL)

            @task(retries=0)
            def marked_failed():
                time.sleep(120)  # the test marks it failed through the REST API while it sleeps

            killed()
            marked_failed()
    return dag


attempts = _attempts_dag("ol_e2e_attempts", out_of_process=True)
attempts_in_process = _attempts_dag("ol_e2e_attempts_in_process", out_of_process=False)
