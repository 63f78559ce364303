"""Outcomes: failures, retries, skips, branches, short circuits and timeouts."""

from __future__ import annotations

import datetime as dt
import time

from airflow.providers.standard.operators.python import (
    BranchPythonOperator,
    PythonOperator,
    ShortCircuitOperator,
)
from airflow.sdk import DAG, task
from airflow.sdk.exceptions import AirflowSkipException
from diff_common import DEFAULTS, START, noop


def fail(**_context):
    raise ValueError("the corpus task failed on purpose")


def fail_first_try(ti, **_context):
    if ti.try_number == 1:
        raise RuntimeError("first try fails")
    return "second try worked"


def skip(**_context):
    raise AirflowSkipException("nothing to do")


with DAG(dag_id="diff_failing", schedule=None, start_date=START, default_args=DEFAULTS) as failing:
    broken = PythonOperator(task_id="broken", python_callable=fail)
    never = PythonOperator(task_id="never_runs", python_callable=noop)
    broken >> never

with DAG(
    dag_id="diff_retry_then_succeed",
    schedule=None,
    start_date=START,
    default_args={**DEFAULTS, "retries": 1, "retry_delay": dt.timedelta(seconds=0)},
) as retry_then_succeed:
    PythonOperator(task_id="flaky", python_callable=fail_first_try)

with DAG(
    dag_id="diff_retry_then_fail",
    schedule=None,
    start_date=START,
    default_args={**DEFAULTS, "retries": 1, "retry_delay": dt.timedelta(seconds=0)},
) as retry_then_fail:
    PythonOperator(task_id="always_broken", python_callable=fail)

with DAG(dag_id="diff_skips", schedule=None, start_date=START, default_args=DEFAULTS) as skips:
    skipped = PythonOperator(task_id="skipped", python_callable=skip)
    after_skip = PythonOperator(task_id="after_skip", python_callable=noop)
    skipped >> after_skip

with DAG(dag_id="diff_branch", schedule=None, start_date=START, default_args=DEFAULTS) as branch:
    choose = BranchPythonOperator(task_id="choose", python_callable=lambda: "left")
    left = PythonOperator(task_id="left", python_callable=noop)
    right = PythonOperator(task_id="right", python_callable=noop)
    join = PythonOperator(task_id="join", python_callable=noop, trigger_rule="none_failed_min_one_success")
    choose >> [left, right] >> join

with DAG(
    dag_id="diff_short_circuit", schedule=None, start_date=START, default_args=DEFAULTS
) as short_circuit:
    gate = ShortCircuitOperator(task_id="gate", python_callable=lambda: False)
    gate >> PythonOperator(task_id="behind_gate", python_callable=noop)

with DAG(dag_id="diff_timeout", schedule=None, start_date=START, default_args=DEFAULTS) as timeout:

    @task(execution_timeout=dt.timedelta(seconds=1))
    def too_slow():
        time.sleep(10)

    too_slow()

with DAG(
    dag_id="diff_partial_failure", schedule=None, start_date=START, default_args=DEFAULTS
) as partial_failure:
    ok = PythonOperator(task_id="ok", python_callable=noop)
    bad = PythonOperator(task_id="bad", python_callable=fail)
    cleanup = PythonOperator(task_id="cleanup", python_callable=noop, trigger_rule="all_done")
    [ok, bad] >> cleanup
