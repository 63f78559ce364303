"""DAGs for the guarantee tests: buffering transports, the overtime cap, many child events, canaries."""

from __future__ import annotations

import datetime as dt

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, BaseHook, BaseOperator, Param, Variable, task

START = dt.datetime(2026, 1, 1)
# Literal secrets the canary DAG carries in its own definition; the test looks for them in every byte.
LITERAL_CANARY = "canary-literal-7Hq2"
NESTED_CANARY = "canary-nested-Zx81"

with DAG(dag_id="ol_e2e_buffered", schedule=None, start_date=START) as buffered:

    @task
    def first():
        return 1

    @task
    def second(value):
        return value + 1

    second(first())


class SlowCompleteLineageOperator(BaseOperator):
    """Its COMPLETE lineage takes 25 s: longer than what fits before task_success_overtime (20 s)."""

    def execute(self, context):
        return "done"

    def get_openlineage_facets_on_complete(self, task_instance):
        import time

        time.sleep(25)


with DAG(dag_id="ol_e2e_overtime", schedule=None, start_date=START) as overtime:
    SlowCompleteLineageOperator(task_id="slow_complete")


with DAG(dag_id="ol_e2e_many_queries", schedule=None, start_date=START) as many_queries:
    SQLExecuteQueryOperator(
        task_id="many_statements",
        conn_id="lineage_sqlite",
        sql=[f"INSERT INTO b (id, name) VALUES ({i}, 'n{i}')" for i in range(500)],
    )


def _uses_secrets(password, nested, **context):
    """A Python task whose op_kwargs hold secrets; it also reads a backend-registered secret."""
    assert Variable.get("backend_token")  # served (and registered with the masker) by the backend
    return "ok"


class SecretLineageOperator(BaseOperator):
    """Lineage methods that read a connection's password, extras and URI, and a sensitive Variable."""

    template_fields = ("statement",)

    def __init__(self, *, statement: str, **kwargs):
        super().__init__(**kwargs)
        self.statement = statement

    def execute(self, context):
        return None

    def get_openlineage_facets_on_complete(self, task_instance):
        from openlineage.client.facet_v2 import documentation_job, sql_job

        from airflow.providers.openlineage.extractors import OperatorLineage

        conn = BaseHook.get_connection("canary_conn")
        api_key = Variable.get("service_api_key")
        described = f"{conn.get_uri()} {conn.extra} {conn.password} {api_key} {Variable.get('backend_token')}"
        return OperatorLineage(
            job_facets={
                "documentation": documentation_job.DocumentationJobFacet(description=described),
                "sql": sql_job.SQLJobFacet(query=self.statement),
            }
        )


with DAG(
    dag_id="ol_e2e_canary",
    schedule=None,
    start_date=START,
    params={"api_key": Param(LITERAL_CANARY), "settings": Param({"targets": [{"password": NESTED_CANARY}]})},
) as canary:
    BashOperator(
        task_id="bash_with_secrets",
        bash_command=(
            "echo {{ conn.canary_conn.password }} {{ var.value.service_api_key }} "
            "{{ params.api_key }} >/dev/null && echo done"
        ),
        env={
            "DB_PASSWORD": "{{ conn.canary_conn.password }}",
            "API_TOKEN": "{{ var.value.service_api_key }}",
        },
        append_env=True,
    )
    SQLExecuteQueryOperator(
        task_id="sql_with_secret",
        conn_id="lineage_sqlite",
        sql="SELECT '{{ conn.canary_conn.password }}' AS p, '{{ var.value.service_api_key }}' AS k",
    )
    PythonOperator(
        task_id="python_with_secrets",
        python_callable=_uses_secrets,
        op_kwargs={"password": LITERAL_CANARY, "nested": [{"token": NESTED_CANARY}]},
    )
    SecretLineageOperator(
        task_id="lineage_reads_secrets",
        statement="SELECT * FROM t WHERE key = '{{ conn.canary_conn.password }}'",
    )
