"""
Run inside a venv holding real providers that import this one (see test_provider_compat.py).

Prints one JSON object: which of their OpenLineage-related modules import, which of our public
names exist, and what their OpenLineage code paths (that need no cloud access) return.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import pathlib
import sys
import traceback

#: Every module and name other providers (and DAG authors) import from this package.
PUBLIC_NAMES: dict[str, list[str]] = {
    "airflow.providers.openlineage": ["__version__"],
    "airflow.providers.openlineage.conf": [
        "is_disabled",
        "namespace",
        "transport",
        "config_path",
        "config_conn_id",
        "custom_extractors",
        "custom_run_facets",
        "disabled_operators",
        "is_source_enabled",
        "selective_enable",
        "spark_inject_parent_job_info",
        "spark_inject_transport_info",
        "dag_state_change_process_pool_size",
        "execution_timeout",
        "execute_in_thread",
        "include_full_task_info",
        "debug_mode",
        "emission_policy",
        "cache",
    ],
    "airflow.providers.openlineage.plugins.listener": ["get_openlineage_listener", "OpenLineageListener"],
    "airflow.providers.openlineage.plugins.adapter": ["OpenLineageAdapter", "_PRODUCER", "RunState"],
    "airflow.providers.openlineage.plugins.macros": [
        "lineage_job_namespace",
        "lineage_job_name",
        "lineage_run_id",
        "lineage_parent_id",
        "lineage_root_run_id",
        "lineage_root_job_name",
        "lineage_root_job_namespace",
        "lineage_root_parent_id",
    ],
    "airflow.providers.openlineage.plugins.facets": [
        "AirflowMappedTaskRunFacet",
        "AirflowJobFacet",
        "AirflowStateRunFacet",
        "AirflowRunFacet",
        "AirflowDagRunFacet",
        "AirflowDebugRunFacet",
        "UnknownOperatorInstance",
        "UnknownOperatorAttributeRunFacet",
    ],
    "airflow.providers.openlineage.extractors": ["BaseExtractor", "OperatorLineage", "ExtractorManager"],
    "airflow.providers.openlineage.extractors.base": [
        "BaseExtractor",
        "DefaultExtractor",
        "OperatorLineage",
        "OL_METHOD_NAME_START",
        "OL_METHOD_NAME_COMPLETE",
        "OL_METHOD_NAME_FAIL",
    ],
    "airflow.providers.openlineage.extractors.manager": ["ExtractorManager"],
    "airflow.providers.openlineage.extractors.bash": ["BashExtractor"],
    "airflow.providers.openlineage.extractors.python": ["PythonExtractor"],
    "airflow.providers.openlineage.sqlparser": [
        "DatabaseInfo",
        "SQLParser",
        "from_table_meta",
        "get_openlineage_facets_with_sql",
        "GetTableSchemasParams",
        "default_normalize_name_method",
        "DEFAULT_NAMESPACE",
        "DEFAULT_INFORMATION_SCHEMA_COLUMNS",
        "DEFAULT_INFORMATION_SCHEMA_TABLE_NAME",
    ],
    "airflow.providers.openlineage.utils.sql": [
        "ColumnIndex",
        "TablesHierarchy",
        "TableSchema",
        "get_table_schemas",
        "parse_query_result",
        "create_information_schema_query",
        "create_filter_clauses",
    ],
    "airflow.providers.openlineage.utils.spark": [
        "inject_parent_job_information_into_spark_properties",
        "inject_transport_information_into_spark_properties",
        "inject_parent_job_information_into_glue_arguments",
        "inject_transport_information_into_glue_arguments",
        "inject_parent_job_information_into_emr_serverless_properties",
        "inject_transport_information_into_emr_serverless_properties",
    ],
    "airflow.providers.openlineage.utils.utils": [
        "get_job_name",
        "get_fully_qualified_class_name",
        "get_operator_class",
        "is_operator_disabled",
        "is_selective_lineage_enabled",
        "try_import_from_string",
        "should_use_external_connection",
        "translate_airflow_asset",
        "print_warning",
        "get_airflow_run_facet",
        "get_airflow_mapped_task_facet",
        "get_airflow_debug_facet",
        "get_processing_engine_facet",
        "get_unknown_source_attribute_run_facet",
        "get_user_provided_run_facets",
        "get_task_parent_run_facet",
        "get_dag_parent_run_facet",
        "get_parent_information_from_dagrun_conf",
        "get_root_information_from_dagrun_conf",
        "get_task_documentation",
        "get_dag_documentation",
        "build_dag_run_ol_run_id",
        "build_task_instance_ol_run_id",
        "is_valid_uuid",
        "get_task_instance_from_context",
        "next_query_counter_from_context",
        "get_dag_run_dag_and_task_from_ti",
        "get_operator_provider_version",
        "safe_getattr",
        "_PRODUCER",
        "_MAX_DOC_BYTES",
        "AnyOperator",
        "Asset",
    ],
    "airflow.providers.openlineage.utils.selective_enable": [
        "enable_lineage",
        "disable_lineage",
        "is_task_lineage_enabled",
        "is_dag_lineage_enabled",
        "ENABLE_OL_PARAM_NAME",
        "ENABLE_OL_PARAM",
        "DISABLE_OL_PARAM",
    ],
    "airflow.providers.openlineage.utils.emission_policy": [
        "EmissionPolicy",
        "Rule",
        "resolve_task_emission_policy",
        "resolve_dag_emission_policy",
        "OL_EMISSION_POLICY_PARAM",
        "EMIT",
    ],
    "airflow.providers.openlineage.utils.sql_hook_lineage": [
        "emit_lineage_from_sql_extras",
        "_get_hook_conn_id",
        "_parse_query_into_datasets",
    ],
    "airflow.providers.openlineage.api": [
        "emit",
        "emit_dataset_lineage",
        "emit_query_lineage",
        "is_openlineage_active",
    ],
    "airflow.providers.openlineage.api.core": ["emit", "is_openlineage_active"],
    "airflow.providers.openlineage.api.datasets": ["emit_dataset_lineage"],
    "airflow.providers.openlineage.api.sql": ["emit_query_lineage"],
    "airflow.providers.openlineage.api.emission_policy": ["extend_global_openlineage_emission_policy"],
    "airflow.providers.openlineage.token_provider": [
        "AIRFLOW_CONNECTION_API_KEY_AUTH_TYPE",
        "resolve_airflow_connection_auth",
        "AirflowConnectionConfigProvider",
        "AirflowConnectionTokenProvider",
    ],
    "airflow.providers.openlineage.version_compat": [
        "AIRFLOW_V_3_0_PLUS",
        "AIRFLOW_V_3_2_PLUS",
        "AIRFLOW_V_3_3_PLUS",
        "get_base_airflow_version_tuple",
    ],
    "airflow.providers.openlineage.operators.empty": ["EmptyOperator"],
}

PROVIDERS = ("amazon", "postgres", "sqlite", "common", "standard")


def _their_modules() -> list[str]:
    """Modules of the installed providers whose source mentions OpenLineage."""
    import airflow.providers

    found = []
    for base in airflow.providers.__path__:
        root = pathlib.Path(base)
        for name in PROVIDERS:
            for path in sorted((root / name).rglob("*.py")):
                if "openlineage" in path.read_text(errors="replace"):
                    relative = path.relative_to(root.parent.parent).with_suffix("")
                    found.append(".".join(relative.parts).removesuffix(".__init__"))
    return found


class _DagRun:
    dag_id = "upstream_dag"
    logical_date = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    run_after = logical_date
    clear_number = 0
    conf: dict = {}


class _TaskInstance:
    dag_id = "upstream_dag"
    task_id = "submit"
    try_number = 1
    map_index = -1
    dag_run = _DagRun()


def _dataset_pairs(datasets) -> list[list[str]]:
    return [[d.namespace, d.name] for d in datasets]


def _code_paths() -> dict[str, object]:
    from airflow.models import Connection

    results: dict[str, object] = {}

    def record(name, func):
        try:
            results[name] = func()
        except Exception:  # the test shows the traceback
            results[name] = {"error": traceback.format_exc()}

    def sql_operator():
        from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        class NoRoundTripPostgresHook(PostgresHook):
            """The real hook, minus the one query (``SELECT CURRENT_SCHEMA``) that needs a server."""

            def get_openlineage_default_schema(self):
                return "public"

        class Operator(SQLExecuteQueryOperator):
            def get_db_hook(self):
                return NoRoundTripPostgresHook(postgres_conn_id=self.conn_id)

        # The information-schema lookup is refused at once (port 9) and falls back to parsed names.
        op = Operator(task_id="sql", conn_id="pg", sql="INSERT INTO s.t SELECT a FROM s.u JOIN v ON true")
        lineage = op.get_openlineage_facets_on_start()
        return {
            "inputs": _dataset_pairs(lineage.inputs),
            "outputs": _dataset_pairs(lineage.outputs),
            "sql": lineage.job_facets["sql"].query,
        }

    def postgres_namespace():
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        from airflow.providers.openlineage.sqlparser import SQLParser

        conn = Connection(conn_id="x", conn_type="postgres", host="pg.example", port=5433, schema="app")
        return SQLParser.create_namespace(PostgresHook().get_openlineage_database_info(conn))

    def redshift_namespace():
        from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

        from airflow.providers.openlineage.sqlparser import SQLParser

        conn = Connection(
            conn_id="rs", conn_type="redshift", host="cluster.abc.eu-west-1.redshift.amazonaws.com", port=5439
        )
        return SQLParser.create_namespace(RedshiftSQLHook().get_openlineage_database_info(conn))

    def s3_asset():
        from airflow.providers.common.compat.openlineage.utils.utils import translate_airflow_asset
        from airflow.sdk import Asset

        dataset = translate_airflow_asset(Asset("s3://bucket/dir/key.csv"), None)
        return [dataset.namespace, dataset.name]

    def s3_copy_operator():
        from airflow.providers.amazon.aws.operators.s3 import S3CopyObjectOperator

        op = S3CopyObjectOperator(
            task_id="copy", source_bucket_key="s3://a/x.csv", dest_bucket_key="s3://b/y.csv"
        )
        lineage = op.get_openlineage_facets_on_start()
        return {"inputs": _dataset_pairs(lineage.inputs), "outputs": _dataset_pairs(lineage.outputs)}

    def trigger_conf():
        from airflow.providers.standard.utils.openlineage import (
            safe_inject_openlineage_properties_into_dagrun_conf,
        )

        return safe_inject_openlineage_properties_into_dagrun_conf({"k": 1}, _TaskInstance())

    def spark_properties():
        from airflow.providers.common.compat.openlineage.utils.spark import (
            inject_parent_job_information_into_spark_properties,
            inject_transport_information_into_spark_properties,
        )

        props = inject_parent_job_information_into_spark_properties({"a": "b"}, {"ti": _TaskInstance()})
        return inject_transport_information_into_spark_properties(props, {"ti": _TaskInstance()})

    def glue_and_emr():
        from airflow.providers.common.compat.openlineage.utils.spark import (
            inject_parent_job_information_into_emr_serverless_properties,
            inject_parent_job_information_into_glue_arguments,
        )

        glue = inject_parent_job_information_into_glue_arguments({"--conf": "x=y"}, {"ti": _TaskInstance()})
        emr = inject_parent_job_information_into_emr_serverless_properties({}, {"ti": _TaskInstance()})
        return {"glue": glue, "emr": emr}

    def file_transfer():
        from airflow.providers.common.io.operators.file_transfer import FileTransferOperator

        op = FileTransferOperator(task_id="ft", src="file:///tmp/a.csv", dst="file:///tmp/b.csv")
        lineage = op.get_openlineage_facets_on_start()
        return {"inputs": _dataset_pairs(lineage.inputs), "outputs": _dataset_pairs(lineage.outputs)}

    def version_gate():
        from airflow.providers.common.compat.openlineage.check import require_openlineage_version

        @require_openlineage_version(provider_min_version="2.8.0")
        def gated():
            return "allowed"

        return gated()

    for name, func in list(locals().items()):
        if callable(func) and name not in ("record",):
            record(name, func)
    return results


def main() -> None:
    imports: dict[str, str] = {}
    for module in _their_modules():
        try:
            importlib.import_module(module)
            imports[module] = "ok"
        except Exception as err:  # reported by the test
            name = getattr(err, "name", "") or ""
            needs_other = type(err).__name__ == "AirflowOptionalProviderFeatureException" or (
                isinstance(err, ModuleNotFoundError) and name.startswith("airflow.providers.")
            )
            imports[module] = f"{'needs another provider' if needs_other else 'failed'}: {err}"
    missing = [
        f"{module}.{name}"
        for module, names in PUBLIC_NAMES.items()
        for name in names
        if not hasattr(importlib.import_module(module), name)
    ]
    json.dump({"imports": imports, "missing": missing, "code_paths": _code_paths()}, sys.stdout, default=str)


if __name__ == "__main__":
    main()
