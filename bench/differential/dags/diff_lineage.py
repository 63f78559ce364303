"""Inputs and outputs: assets as inlets/outlets, asset aliases, lineage methods, hook lineage, SQL."""

from __future__ import annotations

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Asset, AssetAlias, BaseOperator, Metadata, task
from diff_common import DEFAULTS, START, noop


def _lineage(inputs, outputs, run_facets=None, job_facets=None):
    from airflow.providers.openlineage.extractors import OperatorLineage

    return OperatorLineage(
        inputs=inputs, outputs=outputs, run_facets=run_facets or {}, job_facets=job_facets or {}
    )


class LineageMethodsOperator(BaseOperator):
    """Describes its own lineage on start, complete and failure, with run and job facets."""

    def __init__(self, fail: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.fail = fail

    def execute(self, context):
        if self.fail:
            raise RuntimeError("lineage-methods operator failed on purpose")
        return "done"

    def get_openlineage_facets_on_start(self):
        from openlineage.client.event_v2 import Dataset

        return _lineage([Dataset(namespace="postgres://db:5432", name="public.src")], [])

    def get_openlineage_facets_on_complete(self, task_instance):
        from openlineage.client.event_v2 import Dataset
        from openlineage.client.facet_v2 import error_message_run, sql_job

        return _lineage(
            [Dataset(namespace="postgres://db:5432", name="public.src")],
            [Dataset(namespace="postgres://db:5432", name="public.dst")],
            run_facets={
                "errorMessage": error_message_run.ErrorMessageRunFacet(
                    message="none", programmingLanguage="py"
                )
            },
            job_facets={"sql": sql_job.SQLJobFacet(query="SELECT 1")},
        )

    def get_openlineage_facets_on_failure(self, task_instance):
        from openlineage.client.event_v2 import Dataset

        return _lineage([Dataset(namespace="postgres://db:5432", name="public.src")], [], {}, {})


class StartOnlyOperator(BaseOperator):
    """Only ``get_openlineage_facets_on_start``: the complete event reuses it."""

    def execute(self, context):
        return None

    def get_openlineage_facets_on_start(self):
        from openlineage.client.event_v2 import Dataset

        return _lineage([Dataset(namespace="kafka://broker:9092", name="topic.events")], [])


class RaisingLineageOperator(BaseOperator):
    """Its lineage method raises: the task still succeeds and the event still goes out."""

    def execute(self, context):
        return None

    def get_openlineage_facets_on_complete(self, task_instance):
        raise KeyError("lineage method bug")


with DAG(dag_id="diff_assets", schedule=None, start_date=START, default_args=DEFAULTS) as assets:
    BashOperator(
        task_id="bash_with_assets",
        bash_command="echo copy",
        inlets=[Asset("s3://diff-bucket/in/data.csv"), Asset("gs://diff-gcs/raw/events")],
        outlets=[
            Asset("file:///tmp/diff/out.csv", extra={"k": "v"}),
            Asset(name="named", uri="postgres://pg:5432/db/public/t"),
        ],
    )
    PythonOperator(
        task_id="python_with_assets",
        python_callable=noop,
        inlets=[Asset("bigquery://project/dataset/table")],
        outlets=[Asset("s3://diff-bucket/out/")],
    )

with DAG(dag_id="diff_asset_alias", schedule=None, start_date=START, default_args=DEFAULTS) as asset_alias:

    @task(outlets=[AssetAlias("diff-alias")])
    def alias_writer(*, outlet_events):
        outlet_events[AssetAlias("diff-alias")].add(Asset("s3://diff-alias/resolved.csv"))

    @task(outlets=[Asset("s3://diff-alias/metadata.csv")])
    def metadata_writer():
        yield Metadata(Asset("s3://diff-alias/metadata.csv"), {"rows": 3})

    alias_writer() >> metadata_writer()

with DAG(
    dag_id="diff_lineage_methods", schedule=None, start_date=START, default_args=DEFAULTS
) as lineage_methods:
    LineageMethodsOperator(task_id="all_methods")
    StartOnlyOperator(task_id="start_only")
    RaisingLineageOperator(task_id="raising_method")

with DAG(
    dag_id="diff_lineage_methods_fail", schedule=None, start_date=START, default_args=DEFAULTS
) as methods_fail:
    LineageMethodsOperator(task_id="fails", fail=True)

with DAG(dag_id="diff_hook_lineage", schedule=None, start_date=START, default_args=DEFAULTS) as hook_lineage:

    @task
    def hook_reporter():
        from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector
        from airflow.providers.sqlite.hooks.sqlite import SqliteHook

        hook = SqliteHook(sqlite_conn_id="diff_sqlite")
        collector = get_hook_lineage_collector()
        collector.add_input_asset(context=hook, uri="s3://hooked/input.parquet")
        collector.add_output_asset(context=hook, uri="file:///tmp/diff/hooked.csv")
        return "reported"

    hook_reporter()

with DAG(dag_id="diff_sql_sqlite", schedule=None, start_date=START, default_args=DEFAULTS) as sql_sqlite:
    create = SQLExecuteQueryOperator(
        task_id="create",
        conn_id="diff_sqlite",
        sql=[
            "CREATE TABLE IF NOT EXISTS src (id INTEGER, name TEXT)",
            "CREATE TABLE IF NOT EXISTS dst (id INTEGER, name TEXT)",
        ],
    )
    insert = SQLExecuteQueryOperator(
        task_id="insert_select",
        conn_id="diff_sqlite",
        sql="INSERT INTO dst (id, name) SELECT id, name FROM src",
    )
    select = SQLExecuteQueryOperator(task_id="select", conn_id="diff_sqlite", sql="SELECT count(*) FROM dst")
    templated = SQLExecuteQueryOperator(
        task_id="templated",
        conn_id="diff_sqlite",
        sql="DELETE FROM dst WHERE name = '{{ ds }}'",
    )
    create >> insert >> select >> templated
