"""The emission-policy e2e DAG: one task per control, DAG-author overrides, a locked field, legacy options."""

from __future__ import annotations

import datetime as dt

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator, ShortCircuitOperator
from airflow.sdk import DAG, Asset, task

from airflow.providers.openlineage.api.emission_policy import extend_global_openlineage_emission_policy


def answer():
    """Source code the policy includes or leaves out."""
    return 42


with DAG(dag_id="ol_e2e_policy", schedule=None, start_date=dt.datetime(2026, 1, 1)) as policy_dag:
    PythonOperator(task_id="py_default", python_callable=answer)
    PythonOperator(task_id="py_nosource", python_callable=answer)
    BashOperator(task_id="bash_noextract", bash_command="echo 1", outlets=[Asset("s3://policy/out.csv")])
    BashOperator(task_id="bash_fullinfo", bash_command="echo full-info")
    BashOperator(task_id="silenced", bash_command="echo 1")

    @task
    def hook_off():
        from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector
        from airflow.providers.sqlite.hooks.sqlite import SqliteHook

        get_hook_lineage_collector().add_output_asset(context=SqliteHook(), uri="s3://policy/hooked.csv")

    hook_off()
    override = PythonOperator(task_id="author_override", python_callable=answer)
    extend_global_openlineage_emission_policy(override, include_source_code=True)

    @task
    def author_silenced():
        return 1

    extend_global_openlineage_emission_policy(author_silenced(), emit=False)
    locked = PythonOperator(task_id="author_locked", python_callable=answer)
    extend_global_openlineage_emission_policy(locked, include_source_code=False)
    ShortCircuitOperator(task_id="legacy_disabled", python_callable=lambda: True)

extend_global_openlineage_emission_policy(policy_dag, emit_dag_events=False)
