"""The SQL lineage API other providers call: naming, normalisation, column lineage, schema queries."""

from __future__ import annotations

from airflow.providers.openlineage.sql_schemas import parse_query_result
from airflow.providers.openlineage.sqlparser import (
    DEFAULT_INFORMATION_SCHEMA_COLUMNS,
    DEFAULT_INFORMATION_SCHEMA_TABLE_NAME,
    DatabaseInfo,
    SQLParser,
    database_info_for,
    default_normalize_name_method,
)


def test_namespace_and_names_follow_database_info():
    info = DatabaseInfo(scheme="postgres", authority="db:5432", database="analytics")
    parser = SQLParser(dialect="postgres", default_schema="public")
    lineage = parser.generate_openlineage_metadata_from_sql(
        "INSERT INTO b SELECT x FROM s.a;", hook=None, database_info=info, use_connection=False
    )
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("postgres://db:5432", "analytics.s.a")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("postgres://db:5432", "analytics.public.b")]
    assert lineage.job_facets["sql"].query == "INSERT INTO b SELECT x FROM s.a"
    fields = lineage.outputs[0].facets["columnLineage"].fields
    assert fields["x"].inputFields[0].name == "analytics.s.a"
    assert lineage.run_facets == {}


def test_unparsable_statement_gives_extraction_error_and_keeps_the_rest():
    info = DatabaseInfo(scheme="mysql", authority="h:3306")
    lineage = SQLParser(dialect="mysql").generate_openlineage_metadata_from_sql(
        ["INSERT INTO t SELECT * FROM u", "SELEC nonsense"],
        hook=None,
        database_info=info,
        use_connection=False,
    )
    assert [d.name for d in lineage.inputs] == ["u"]
    error = lineage.run_facets["extractionError"]
    assert (error.totalTasks, error.failedTasks) == (2, 1)
    assert error.errors[0].task == "SELEC nonsense"


def test_uppercase_databases_and_normalisation():
    info = DatabaseInfo(scheme="snowflake", authority="acct", database="DB", is_uppercase_names=True)
    lineage = SQLParser(dialect="snowflake", default_schema="PUBLIC").generate_openlineage_metadata_from_sql(
        "select * from tbl", hook=None, database_info=info, use_connection=False
    )
    assert [d.name for d in lineage.inputs] == ["DB.PUBLIC.TBL"]
    assert SQLParser.normalize_sql("select 1;  \n-- comment\nselect 2;\n") == "select 1;\nselect 2"
    assert SQLParser.create_namespace(DatabaseInfo(scheme="bigquery")) == "bigquery"


def test_information_schema_query_groups_by_schema_and_database():
    parsed = SQLParser(dialect="postgres").parse(["SELECT * FROM s.a JOIN s2.c ON true"])
    query = SQLParser.create_information_schema_query(
        parsed.in_tables,
        default_normalize_name_method,
        False,
        DEFAULT_INFORMATION_SCHEMA_COLUMNS,
        DEFAULT_INFORMATION_SCHEMA_TABLE_NAME,
        False,
    )
    assert "FROM information_schema.columns" in query
    assert "table_schema = 's' AND table_name IN ('a')" in query
    cross = SQLParser.create_information_schema_query(
        SQLParser(dialect="snowflake").parse(["SELECT * FROM db1.s.a JOIN db2.s.b ON true"]).in_tables,
        default_normalize_name_method,
        True,
        DEFAULT_INFORMATION_SCHEMA_COLUMNS,
        DEFAULT_INFORMATION_SCHEMA_TABLE_NAME,
        True,
    )
    assert "FROM db1.information_schema.columns" in cross
    assert "UNION ALL" in cross
    assert "'db2' AS table_database" in cross


def test_query_result_rows_become_tables_with_ordered_columns():
    class Cursor:
        def fetchall(self):
            return [
                ("public", "t", "b", 2, "text"),
                ("public", "t", "a", 1, "int4"),
                ("other", "u", "x", 1, "int8"),
            ]

    tables = {(t.schema, t.table): [f.name for f in t.fields] for t in parse_query_result(Cursor())}
    assert tables == {("public", "t"): ["a", "b"], ("other", "u"): ["x"]}


def test_sqlite_connections_get_database_info_without_hook_support():
    class Hook:
        def get_openlineage_database_info(self, connection):
            return None

    class Connection:
        conn_type = "sqlite"
        host = "/data/app.db"

    info = database_info_for(Hook(), Connection())
    assert SQLParser.create_namespace(info) == "sqlite:///data/app.db"
