"""The SQL lineage API other providers call: naming, normalisation, column lineage, schema queries."""

from __future__ import annotations

import pytest

from airflow.providers.openlineage.describe.sql_schemas import parse_query_result
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


def _schema_query(sql: str, dialect: str, **kwargs) -> str:
    params = {
        "normalize_name": default_normalize_name_method,
        "is_cross_db": False,
        "information_schema_columns": DEFAULT_INFORMATION_SCHEMA_COLUMNS,
        "information_schema_table": DEFAULT_INFORMATION_SCHEMA_TABLE_NAME,
        "is_uppercase_names": False,
        **kwargs,
    }
    return SQLParser.create_information_schema_query(
        SQLParser(dialect=dialect).parse([sql]).in_tables, **params
    )


COLUMNS = "table_schema, {0}table_name, {0}column_name, {0}ordinal_position, {0}udt_name"


def test_information_schema_query_groups_by_schema():
    query = _schema_query("SELECT * FROM s.a JOIN s2.c ON true JOIN s.d ON true", "postgres")
    c = "information_schema.columns."
    assert query == (
        f"SELECT {c}{COLUMNS.format(c)} \nFROM information_schema.columns \n"
        f"WHERE {c}table_schema = 's' AND {c}table_name IN ('a', 'd') "
        f"OR {c}table_schema = 's2' AND {c}table_name IN ('c')"
    )


def test_cross_database_query_selects_each_database_and_says_which_it_read():
    query = _schema_query("SELECT * FROM db1.s.a JOIN db2.s.b ON true", "snowflake", is_cross_db=True)
    first, second = query.split(" UNION ALL ")
    assert (
        "FROM db1.information_schema.columns \nWHERE db1.information_schema.columns.table_schema = 's'"
        in first
    )
    assert "FROM db2.information_schema.columns" in second
    # Five columns hold no database: the rows of each SELECT are labelled with the one they come from.
    assert "'db2' AS table_database" in second


def test_flat_cross_database_query_filters_on_the_database_column():
    """Redshift: one view for every database; a table of another database must not match by name."""
    columns = ["schema_name", "table_name", "column_name", "ordinal_position", "data_type", "database_name"]
    query = _schema_query(
        "SELECT * FROM little_table JOIN other_db.s.orders ON true",
        "redshift",
        is_cross_db=True,
        information_schema_columns=columns,
        information_schema_table="SVV_REDSHIFT_COLUMNS",
        use_flat_cross_db_query=True,
        database="dev",
    )
    v = "SVV_REDSHIFT_COLUMNS."
    assert query == (
        f"SELECT {', '.join(v + c for c in columns)} \nFROM SVV_REDSHIFT_COLUMNS \n"
        f"WHERE {v}database_name = 'dev' AND {v}table_name IN ('little_table') "
        f"OR {v}database_name = 'other_db' AND {v}schema_name = 's' AND {v}table_name IN ('orders')"
    )


def test_schema_lookup_closes_the_connection_it_opened(tmp_path):
    """A real DB-API connection (sqlite3, whose ``with conn`` only commits) is closed after the lookup."""
    import sqlite3

    from airflow.providers.openlineage.describe.sql_schemas import get_table_schemas

    opened: list[sqlite3.Connection] = []

    class Hook:
        def get_conn(self) -> sqlite3.Connection:
            conn = sqlite3.connect(tmp_path / "db.sqlite")
            conn.execute(f"ATTACH '{tmp_path / 'is.sqlite'}' AS information_schema")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS information_schema.columns (table_schema, table_name, "
                "column_name, ordinal_position, udt_name)"
            )
            conn.execute("DELETE FROM information_schema.columns")
            conn.executemany(
                "INSERT INTO information_schema.columns VALUES (?, ?, ?, ?, ?)",
                [("HR", "employees", "name", 2, "text"), ("HR", "employees", "id", 1, "int4")],
            )
            opened.append(conn)
            return conn

    query = _schema_query("SELECT * FROM hr.employees", "sqlite")
    inputs, outputs = get_table_schemas(Hook(), "sqlite://x", None, None, query.replace("'hr'", "'HR'"), None)
    assert [(d.name, [f.name for f in d.facets["schema"].fields]) for d in inputs] == [
        ("HR.employees", ["id", "name"])
    ]
    assert outputs == []
    (conn,) = opened
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        conn.execute("SELECT 1")


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
