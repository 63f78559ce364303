"""Jobs a task starts link to it by themselves: dbt-ol in a BashOperator, a script in another Python."""

from __future__ import annotations

import datetime as dt

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import ExternalPythonOperator
from airflow.sdk import DAG

# A process the task starts writes what it inherited to $OL_E2E_OUT/<task>.json.
RECORD = (
    'python3 -c "import json, os, sys; '
    "names = ('OPENLINEAGE_CONTEXT', 'OPENLINEAGE_PARENT_ID', 'OPENLINEAGE_ROOT_PARENT_ID'); "
    "json.dump({n: os.environ.get(n) for n in names}, open(sys.argv[1], 'w'))\" "
)


def record_from_another_python(out_dir: str) -> None:
    import json
    import os

    names = ("OPENLINEAGE_CONTEXT", "OPENLINEAGE_PARENT_ID", "OPENLINEAGE_ROOT_PARENT_ID")
    with open(os.path.join(out_dir, "external_python.json"), "w") as f:
        json.dump({n: os.environ.get(n) for n in names}, f)


with DAG("ol_e2e_child_jobs", schedule=None, start_date=dt.datetime(2025, 1, 1), catchup=False):
    dbt_run = BashOperator(
        task_id="dbt_run",
        bash_command=(
            'PATH="$OL_E2E_DBT_BIN:$PATH" dbt-ol run --project-dir "$OL_E2E_DBT_PROJECT" '
            '--profiles-dir "$OL_E2E_DBT_PROJECT" && ' + RECORD + '"$OL_E2E_OUT/dbt_run.json"'
        ),
    )
    external = ExternalPythonOperator(
        task_id="external_python",
        python="{{ var.value.get('ol_e2e_external_python', '/usr/bin/python3') }}",
        python_callable=record_from_another_python,
        op_args=["{{ var.value.get('ol_e2e_out', '/tmp') }}"],
        expect_airflow=False,
        serializer="pickle",
    )
    user_parent = BashOperator(
        task_id="user_parent",
        env={"OPENLINEAGE_PARENT_ID": "user_ns/user_job/0190c3b6-0000-7000-8000-000000000001"},
        append_env=True,
        bash_command=RECORD + '"$OL_E2E_OUT/user_parent.json"',
    )
    dbt_run >> external >> user_parent
