"""
The extraction surface end to end: built-in Python/Bash extractors, a custom extractor from config,
operator lineage methods reading a Connection, a Variable and an XCom, assets as inlets/outlets, hook
lineage, and SQL on SQLite through common-sql.
"""

from __future__ import annotations

import datetime as dt

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Asset, AssetAlias, BaseHook, BaseOperator, Variable, task


def produce_value():
    """The value downstream lineage methods pull as an XCom."""
    return "xcom-table"


class CustomExtractedOperator(BaseOperator):
    """No lineage methods of its own: a custom extractor describes it."""

    def __init__(self, topic: str, **kwargs):
        super().__init__(**kwargs)
        self.topic = topic

    def execute(self, context):
        return self.topic


class SupervisorLineageOperator(BaseOperator):
    """Its lineage names come from a Connection, a Variable and an XCom, read through the supervisor."""

    def execute(self, context):
        assert Variable.get("plain_value") == "plain-42"

    def get_openlineage_facets_on_start(self):
        from openlineage.client.event_v2 import Dataset

        from airflow.providers.openlineage.extractors import OperatorLineage

        host = BaseHook.get_connection("secret_conn").host
        return OperatorLineage(inputs=[Dataset(namespace=f"postgres://{host}:5432", name="public.start")])

    def get_openlineage_facets_on_complete(self, task_instance):
        from openlineage.client.event_v2 import Dataset

        from airflow.providers.openlineage.extractors import OperatorLineage

        host = BaseHook.get_connection("secret_conn").host
        schema = Variable.get("plain_value")
        table = task_instance.xcom_pull(task_ids="python_task")
        return OperatorLineage(
            inputs=[Dataset(namespace=f"postgres://{host}:5432", name="public.start")],
            outputs=[Dataset(namespace=f"postgres://{host}:5432", name=f"{schema}.{table}")],
        )


with DAG(dag_id="ol_e2e_extraction", schedule=None, start_date=dt.datetime(2026, 1, 1)) as extraction:
    python_task = PythonOperator(task_id="python_task", python_callable=produce_value)
    bash_task = BashOperator(
        task_id="bash_task",
        bash_command="echo connecting with {{ conn.secret_conn.password }} >/dev/null && echo done",
        inlets=[Asset("s3://raw-bucket/in/data.csv")],
        outlets=[Asset("file:///tmp/ol-e2e/out.csv")],
    )
    custom = CustomExtractedOperator(task_id="custom_extracted", topic="orders")
    lineage_methods = SupervisorLineageOperator(task_id="lineage_methods")
    sql_insert = SQLExecuteQueryOperator(
        task_id="sql_insert",
        conn_id="lineage_sqlite",
        sql="INSERT INTO b (id, name) SELECT id, name FROM a",
    )

    @task
    def hook_reporter():
        """A TaskFlow task (no extractor) whose hook reports assets to the hook-lineage collector."""
        from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector
        from airflow.providers.sqlite.hooks.sqlite import SqliteHook

        hook = SqliteHook(sqlite_conn_id="lineage_sqlite")
        collector = get_hook_lineage_collector()
        collector.add_input_asset(context=hook, uri="s3://hooked-bucket/input.parquet")
        collector.add_output_asset(context=hook, uri="file:///tmp/ol-e2e/hooked.csv")
        return "reported"

    @task(outlets=[AssetAlias("ol-e2e-alias")])
    def alias_writer(*, outlet_events):
        """Names its output only at run time, through an asset alias."""
        outlet_events[AssetAlias("ol-e2e-alias")].add(Asset("s3://alias-bucket/resolved.csv"))

    python_task >> lineage_methods
    [bash_task, custom, sql_insert, hook_reporter(), alias_writer()]
