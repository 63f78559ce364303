# Licensed to the Apache Software Foundation (ASF) under one
# or more contributor license agreements.  See the NOTICE file
# distributed with this work for additional information
# regarding copyright ownership.  The ASF licenses this file
# to you under the Apache License, Version 2.0 (the
# "License"); you may not use this file except in compliance
# with the License.  You may obtain a copy of the License at
#
#   http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing,
# software distributed under the License is distributed on an
# "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY
# KIND, either express or implied.  See the License for the
# specific language governing permissions and limitations
# under the License.
"""
SQL lineage: parse SQL text into input and output datasets, with column lineage and schemas.

This is the API that SQL operators and hooks of other providers call (``DatabaseInfo`` from their
hooks' ``get_openlineage_database_info``, ``SQLParser`` from ``common.sql``'s operators,
``get_openlineage_facets_with_sql`` from hooks). Parsing uses ``openlineage-sql`` through
``openlineage-integration-common``; table schemas come from the information schema when a live
connection may be used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict

import attrs
from openlineage.client.event_v2 import Dataset
from openlineage.client.facet_v2 import column_lineage_dataset, extraction_error_run, sql_job

from airflow.providers.openlineage.describe.operator_lineage import OperatorLineage
from airflow.providers.openlineage.describe.sql_schemas import (
    TablesHierarchy,
    get_table_schemas,
)
from airflow.providers.openlineage.describe.sql_schemas import (
    create_information_schema_query as _build_information_schema_query,
)

if TYPE_CHECKING:
    from openlineage.common.sql import DbTableMeta, SqlMeta
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

DEFAULT_NAMESPACE = "default"
DEFAULT_INFORMATION_SCHEMA_COLUMNS = [
    "table_schema",
    "table_name",
    "column_name",
    "ordinal_position",
    "udt_name",
]
DEFAULT_INFORMATION_SCHEMA_TABLE_NAME = "information_schema.columns"

#: Dialects ``openlineage-sql`` knows; anything else is parsed as ``generic``.
KNOWN_DIALECTS = frozenset(
    {
        "ansi",
        "bigquery",
        "databricks",
        "generic",
        "hive",
        "mssql",
        "mysql",
        "postgres",
        "postgresql",
        "redshift",
        "snowflake",
        "sqlite",
    }
)


def default_normalize_name_method(name: str) -> str:
    """Most databases fold unquoted names to lower case."""
    return name.lower()


class GetTableSchemasParams(TypedDict):
    """What :meth:`SQLParser.create_information_schema_query` needs besides the tables."""

    normalize_name: Callable[[str], str]
    is_cross_db: bool
    information_schema_columns: list[str]
    information_schema_table: str
    use_flat_cross_db_query: bool
    is_uppercase_names: bool
    database: str | None


@attrs.define
class DatabaseInfo:
    """
    How one database is named in OpenLineage and how its information schema is queried.

    Hooks return this from ``get_openlineage_database_info(connection)``. The dataset namespace is
    ``<scheme>://<authority>`` (or just ``<scheme>``); ``database`` is the default database of the
    connection, used to complete table names the SQL leaves partial.
    """

    scheme: str
    authority: str | None = None
    database: str | None = None
    information_schema_columns: list[str] = attrs.Factory(lambda: list(DEFAULT_INFORMATION_SCHEMA_COLUMNS))
    information_schema_table_name: str = DEFAULT_INFORMATION_SCHEMA_TABLE_NAME
    use_flat_cross_db_query: bool = False
    is_information_schema_cross_db: bool = False
    is_uppercase_names: bool = False
    normalize_name_method: Callable[[str], str] = default_normalize_name_method


def from_table_meta(
    table_meta: DbTableMeta, database: str | None, namespace: str, is_uppercase: bool
) -> Dataset:
    """A parsed table as a dataset: ``database.schema.table``, completed with the default database."""
    if table_meta.database:
        name = table_meta.qualified_name
    else:
        name = ".".join(part for part in (database, table_meta.schema, table_meta.name) if part)
    return Dataset(namespace=namespace, name=name.upper() if is_uppercase else name)


def _dialect(dialect: str | None) -> str:
    return dialect if dialect in KNOWN_DIALECTS else "generic"


class SQLParser:
    """Parse SQL of one dialect into lineage (the parser runs in-process, in Rust)."""

    def __init__(self, dialect: str | None = None, default_schema: str | None = None) -> None:
        self.dialect = dialect
        self.default_schema = default_schema
        self.log = log

    def parse(self, sql: list[str] | str) -> SqlMeta | None:
        """Tables read and written, column lineage and per-statement errors; None if the parser failed."""
        from openlineage.common.sql import parse

        return parse(sql=sql, dialect=_dialect(self.dialect), default_schema=self.default_schema)

    @staticmethod
    def create_namespace(database_info: DatabaseInfo) -> str:
        if database_info.authority:
            return f"{database_info.scheme}://{database_info.authority}"
        return database_info.scheme

    @classmethod
    def normalize_sql(cls, sql: list[str] | str) -> str:
        """One string: statements without trailing blanks or semicolons, joined by ``;`` and newlines."""
        statements = cls.split_sql_string(sql) if isinstance(sql, str) else list(sql)
        return ";\n".join(statement.rstrip(" ;\r\n") for statement in statements)

    @classmethod
    def split_sql_string(cls, sql: list[str] | str) -> list[str]:
        """Statements of ``sql`` (comments dropped), flattening lists; empty statements removed."""
        if isinstance(sql, (list, tuple)):
            return [piece for item in sql for piece in cls.split_sql_string(item)]
        try:
            from airflow.providers.common.sql.hooks.sql import DbApiHook

            statements = DbApiHook.split_sql_string(sql)
        except ImportError:
            import sqlparse

            statements = sqlparse.split(sqlparse.format(sql, strip_comments=True))
        return [statement for statement in statements if statement and statement.strip()]

    def parse_table_schemas(
        self,
        hook: Any,
        inputs: list[DbTableMeta],
        outputs: list[DbTableMeta],
        database_info: DatabaseInfo,
        namespace: str = DEFAULT_NAMESPACE,
        database: str | None = None,
        sqlalchemy_engine: Engine | None = None,
    ) -> tuple[list[Dataset], list[Dataset]]:
        """Datasets with ``schema`` facets, read through the hook from the information schema."""
        params: GetTableSchemasParams = {
            "normalize_name": database_info.normalize_name_method,
            "is_cross_db": database_info.is_information_schema_cross_db,
            "information_schema_columns": database_info.information_schema_columns,
            "information_schema_table": database_info.information_schema_table_name,
            "use_flat_cross_db_query": database_info.use_flat_cross_db_query,
            "is_uppercase_names": database_info.is_uppercase_names,
            "database": database or database_info.database,
        }
        return get_table_schemas(
            hook,
            namespace,
            self.default_schema,
            database or database_info.database,
            self.create_information_schema_query(tables=inputs, sqlalchemy_engine=sqlalchemy_engine, **params)
            if inputs
            else None,
            self.create_information_schema_query(
                tables=outputs, sqlalchemy_engine=sqlalchemy_engine, **params
            )
            if outputs
            else None,
        )

    @staticmethod
    def get_metadata_from_parser(
        inputs: list[DbTableMeta],
        outputs: list[DbTableMeta],
        database_info: DatabaseInfo,
        namespace: str = DEFAULT_NAMESPACE,
        database: str | None = None,
    ) -> tuple[list[Dataset], list[Dataset]]:
        """Datasets from the parsed names alone (no connection needed)."""
        database = database or database_info.database
        upper = database_info.is_uppercase_names
        return (
            [from_table_meta(table, database, namespace, upper) for table in inputs],
            [from_table_meta(table, database, namespace, upper) for table in outputs],
        )

    def attach_column_lineage(
        self, datasets: list[Dataset], database: str | None, parse_result: SqlMeta
    ) -> None:
        """Add a ``columnLineage`` facet to each output, from the parser's column lineage."""
        if not datasets or not parse_result.column_lineage:
            return
        default_schema = self.default_schema
        fields = {}
        for lineage in parse_result.column_lineage:
            input_fields = []
            for column in lineage.lineage:
                origin = column.origin
                if origin is None:
                    continue
                name = ".".join(
                    part
                    for part in (origin.database or database, origin.schema or default_schema, origin.name)
                    if part
                )
                input_fields.append(
                    column_lineage_dataset.InputField(
                        namespace=datasets[0].namespace,
                        name=name,
                        field=column.name,
                        transformations=[],
                    )
                )
            fields[lineage.descendant.name] = column_lineage_dataset.Fields(
                inputFields=input_fields, transformationType="", transformationDescription=""
            )
        for dataset in datasets:
            dataset.facets = dict(dataset.facets or {})
            dataset.facets["columnLineage"] = column_lineage_dataset.ColumnLineageDatasetFacet(fields=fields)

    def generate_openlineage_metadata_from_sql(
        self,
        sql: list[str] | str,
        hook: Any,
        database_info: DatabaseInfo,
        database: str | None = None,
        sqlalchemy_engine: Engine | None = None,
        use_connection: bool = True,
    ) -> OperatorLineage:
        """Inputs, outputs, ``sql`` job facet and (when statements failed to parse) ``extractionError``."""
        job_facets: dict[str, Any] = {"sql": sql_job.SQLJobFacet(query=self.normalize_sql(sql))}
        run_facets: dict[str, Any] = {}
        statements = self.split_sql_string(sql)
        parse_result = self.parse(statements)
        if parse_result is None:
            return OperatorLineage(job_facets=job_facets)
        if parse_result.errors:
            run_facets["extractionError"] = extraction_error_run.ExtractionErrorRunFacet(
                totalTasks=len(statements) or 1,
                failedTasks=len(parse_result.errors),
                errors=[
                    extraction_error_run.Error(
                        errorMessage=error.message,
                        stackTrace=None,
                        task=error.origin_statement,
                        taskNumber=error.index,
                    )
                    for error in parse_result.errors
                ],
            )
        namespace = self.create_namespace(database_info)
        inputs: list[Dataset] = []
        outputs: list[Dataset] = []
        if use_connection:
            try:
                inputs, outputs = self.parse_table_schemas(
                    hook,
                    parse_result.in_tables,
                    parse_result.out_tables,
                    database_info,
                    namespace,
                    database,
                    sqlalchemy_engine,
                )
            except Exception as err:  # noqa: BLE001 - schemas are a bonus; names still come from the parser
                log.warning(
                    "OpenLineage could not read table schemas from the information schema: %s: %s",
                    type(err).__name__,
                    err,
                )
        if not inputs and not outputs:
            inputs, outputs = self.get_metadata_from_parser(
                parse_result.in_tables, parse_result.out_tables, database_info, namespace, database
            )
        self.attach_column_lineage(outputs, database or database_info.database, parse_result)
        return OperatorLineage(inputs=inputs, outputs=outputs, run_facets=run_facets, job_facets=job_facets)

    @staticmethod
    def create_information_schema_query(
        tables: list[DbTableMeta],
        normalize_name: Callable[[str], str],
        is_cross_db: bool,
        information_schema_columns: list[str],
        information_schema_table: str,
        is_uppercase_names: bool,
        use_flat_cross_db_query: bool = False,
        database: str | None = None,
        sqlalchemy_engine: Engine | None = None,
    ) -> str:
        """Group tables by database and schema and build the query that reads their columns."""
        # Database and schema names are normalised; table names stay as the SQL wrote them (the
        # query upper-cases them where the database stores names so).
        hierarchy: TablesHierarchy = {}
        for table in tables:
            db = (table.database or database) if is_cross_db else None
            schemas = hierarchy.setdefault(normalize_name(db) if db else None, {})
            schemas.setdefault(normalize_name(table.schema) if table.schema else None, []).append(table.name)
        return _build_information_schema_query(
            columns=information_schema_columns,
            information_schema_table_name=information_schema_table,
            tables_hierarchy=hierarchy,
            uppercase_names=is_uppercase_names,
            use_flat_cross_db_query=use_flat_cross_db_query,
            sqlalchemy_engine=sqlalchemy_engine,
        )


def get_openlineage_facets_with_sql(
    hook: Any,
    sql: str | list[str],
    conn_id: str,
    database: str | None,
    use_connection: bool = True,
    *,
    connection: Any = None,
    database_info: DatabaseInfo | None = None,
) -> OperatorLineage | None:
    """SQL lineage for a hook: None when the hook cannot say what database it talks to."""
    connection = connection if connection is not None else hook.get_connection(conn_id)
    database_info = database_info or database_info_for(hook, connection)
    if database_info is None:
        log.debug("OpenLineage: %s gives no database information, no SQL lineage", type(hook).__name__)
        return None
    try:
        dialect = hook.get_openlineage_database_dialect(connection)
    except AttributeError:
        dialect = database_info.scheme
    parser = SQLParser(dialect=dialect, default_schema=_default_schema(hook, database_info))
    engine = None
    if use_connection:
        try:
            engine = hook.get_sqlalchemy_engine()
        except Exception as err:  # noqa: BLE001 - only used to render the information-schema query
            log.debug("OpenLineage: no SQLAlchemy engine from %s: %s", type(hook).__name__, err)
    return parser.generate_openlineage_metadata_from_sql(
        sql=sql,
        hook=hook,
        database_info=database_info,
        database=database,
        sqlalchemy_engine=engine,
        use_connection=use_connection,
    )


def _default_schema(hook: Any, database_info: DatabaseInfo) -> str | None:
    if database_info.scheme == "sqlite":
        return "main"
    try:
        return hook.get_openlineage_default_schema()
    except AttributeError:
        return None


def database_info_for(hook: Any, connection: Any) -> DatabaseInfo | None:
    """
    The hook's own ``DatabaseInfo``, else one this provider knows for the connection type.

    SQLite's hook does not describe itself; its database is the file named in the connection's host,
    so datasets are ``sqlite://<absolute path>`` / ``main.<table>``.
    """
    try:
        info = hook.get_openlineage_database_info(connection)
    except AttributeError:
        info = None
    if info is not None:
        return info
    if getattr(connection, "conn_type", None) == "sqlite":
        import os.path

        path = getattr(connection, "host", None) or ""
        return DatabaseInfo(scheme="sqlite", authority=os.path.abspath(path) if path else None)
    return None
