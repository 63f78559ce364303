"""Emission policies: DAGs whose events the harness's ``emission_policy`` and authoring calls shape."""

from __future__ import annotations

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from diff_common import DEFAULTS, START, NoisyOperator, noop

from airflow.providers.openlineage.api.emission_policy import extend_global_openlineage_emission_policy

with DAG(
    dag_id="diff_policy_quiet_tasks", schedule=None, start_date=START, default_args=DEFAULTS
) as quiet_tasks:
    # The harness's policy turns task events off for this DAG; the DAG-run events stay.
    PythonOperator(task_id="silent", python_callable=noop)

with DAG(dag_id="diff_policy_no_source", schedule=None, start_date=START, default_args=DEFAULTS) as no_source:
    # The harness's policy drops source code for BashOperator in this DAG only.
    BashOperator(task_id="bash_no_source", bash_command="echo hidden")
    PythonOperator(task_id="python_keeps_source", python_callable=noop)

with DAG(
    dag_id="diff_policy_disabled_operator", schedule=None, start_date=START, default_args=DEFAULTS
) as disabled_op:
    NoisyOperator(task_id="noisy")
    PythonOperator(task_id="normal", python_callable=noop)

with DAG(dag_id="diff_policy_authoring", schedule=None, start_date=START, default_args=DEFAULTS) as authoring:
    extend_global_openlineage_emission_policy(
        PythonOperator(task_id="no_metadata", python_callable=noop, inlets=[]),
        extract_operator_metadata=False,
    )
    PythonOperator(task_id="default_task", python_callable=noop)

with DAG(
    dag_id="diff_policy_no_dag_events", schedule=None, start_date=START, default_args=DEFAULTS
) as no_dag_events:
    extend_global_openlineage_emission_policy(no_dag_events, emit_dag_events=False)
    PythonOperator(task_id="task_only", python_callable=noop)

with DAG(dag_id="diff_policy_regex", schedule=None, start_date=START, default_args=DEFAULTS) as regex:
    # A regex rule on task ids drops events of the ``tmp_*`` tasks.
    PythonOperator(task_id="tmp_scratch", python_callable=noop)
    PythonOperator(task_id="kept", python_callable=noop)
