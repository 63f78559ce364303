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
Read table schemas from a database's information schema, for SQL lineage with column types.

The queries are built with SQLAlchemy Core (never by string formatting of names), run through the
hook's own cursor, and turned into OpenLineage datasets carrying a ``schema`` facet.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from contextlib import closing
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import attrs
from openlineage.client.event_v2 import Dataset
from openlineage.client.facet_v2 import schema_dataset

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.engine import Engine
    from sqlalchemy.sql.elements import ColumnElement

log = logging.getLogger(__name__)

#: ``{database: {schema: [table, ...]}}``; ``None`` keys when the SQL did not name them.
TablesHierarchy = dict[str | None, dict[str | None, list[str]]]


class ColumnIndex(IntEnum):
    """Position of each value in a row returned by the information-schema query."""

    SCHEMA = 0
    TABLE_NAME = 1
    COLUMN_NAME = 2
    ORDINAL_POSITION = 3
    UDT_NAME = 4
    DATABASE = 5


@attrs.define
class TableSchema:
    """One table's columns, as read from the information schema."""

    table: str
    schema: str | None
    database: str | None
    fields: list[schema_dataset.SchemaDatasetFacetFields]

    def to_dataset(self, namespace: str, database: str | None = None, schema: str | None = None) -> Dataset:
        """The table as a dataset; the name is ``database.schema.table`` with the parts that are known."""
        parts = [self.database or database, self.schema or schema, self.table]
        return Dataset(
            namespace=namespace,
            name=".".join(part for part in parts if part),
            facets={"schema": schema_dataset.SchemaDatasetFacet(fields=self.fields)} if self.fields else {},
        )


def parse_query_result(cursor: Any) -> list[TableSchema]:
    """Group information-schema rows into tables, columns in ordinal order."""
    columns: dict[tuple[str | None, str | None, str], list[tuple[int, str, str]]] = defaultdict(list)
    for row in cursor.fetchall():
        database = row[ColumnIndex.DATABASE] if len(row) > ColumnIndex.DATABASE else None
        key = (database, row[ColumnIndex.SCHEMA], row[ColumnIndex.TABLE_NAME])
        columns[key].append(
            (int(row[ColumnIndex.ORDINAL_POSITION]), row[ColumnIndex.COLUMN_NAME], row[ColumnIndex.UDT_NAME])
        )
    return [
        TableSchema(
            table=table,
            schema=schema,
            database=database,
            fields=[
                schema_dataset.SchemaDatasetFacetFields(name=name, type=type_name)
                for _, name, type_name in sorted(cols, key=lambda col: col[0])
            ],
        )
        for (database, schema, table), cols in columns.items()
    ]


def get_table_schemas(
    hook: Any,
    namespace: str,
    schema: str | None,
    database: str | None,
    in_query: str | None,
    out_query: str | None,
) -> tuple[list[Dataset], list[Dataset]]:
    """Run the input and output information-schema queries; each returns one dataset per table."""
    if not in_query and not out_query:
        return [], []
    results: list[list[Dataset]] = []
    # ``closing``, not ``with conn``: for most DB-API drivers a connection's context manager only ends a
    # transaction (psycopg2, sqlite3) or does not exist, and the connection this opened must be closed.
    with closing(hook.get_conn()) as connection, closing(connection.cursor()) as cursor:
        for query in (in_query, out_query):
            if not query:
                results.append([])
                continue
            cursor.execute(query)
            results.append(
                [table.to_dataset(namespace, database, schema) for table in parse_query_result(cursor)]
            )
    return results[0], results[1]


def _information_schema_table(name: str, columns: list[str], schema: str | None = None) -> Table:
    """An unquoted table object for ``schema.name`` (names are used verbatim, dots included)."""
    from sqlalchemy import Column, MetaData, Table

    return Table(name, MetaData(), *(Column(column) for column in columns), schema=schema, quote=False)


def create_filter_clauses(
    mapping: TablesHierarchy,
    information_schema_table: Table,
    uppercase_names: bool = False,
) -> ColumnElement[bool]:
    """
    The WHERE clause selecting every table of ``mapping`` (``{database: {schema: [table, ...]}}``).

    Per schema: ``schema = s AND table IN (...)`` (a table without schema matches on its name). Where
    the information-schema table has a database column (the sixth), a named database adds
    ``database = d`` around its schemas, so same-named tables of other databases never match.
    """
    from sqlalchemy import and_, or_

    columns = list(information_schema_table.c)
    table_column = columns[ColumnIndex.TABLE_NAME]
    schema_column = columns[ColumnIndex.SCHEMA]
    database_column = columns[ColumnIndex.DATABASE] if len(columns) > ColumnIndex.DATABASE else None

    def cased(name: str) -> str:
        return name.upper() if uppercase_names else name

    clauses: list[ColumnElement[bool]] = []
    for database, schemas in mapping.items():
        per_schema: list[ColumnElement[bool]] = []
        for schema, tables in schemas.items():
            in_tables = table_column.in_([cased(table) for table in tables])
            per_schema.append(and_(schema_column == cased(schema), in_tables) if schema else in_tables)
        if database and database_column is not None:
            clauses.append(and_(database_column == cased(database), or_(*per_schema)))
        else:
            clauses.extend(per_schema)
    return or_(*clauses)


def create_information_schema_query(
    columns: list[str],
    information_schema_table_name: str,
    tables_hierarchy: TablesHierarchy,
    uppercase_names: bool = False,
    use_flat_cross_db_query: bool = False,
    sqlalchemy_engine: Engine | None = None,
) -> str:
    """
    The SQL text that selects the columns of every table in ``tables_hierarchy``.

    Flat (one view holds every database, e.g. Redshift's ``SVV_REDSHIFT_COLUMNS``): one SELECT, the
    database filtered by column. Otherwise one SELECT per database from ``<database>.<view>``, or the
    view itself when no database is named, joined with UNION ALL.
    """
    from sqlalchemy import literal, select, union_all

    selects = []
    if use_flat_cross_db_query:
        table = _information_schema_table(information_schema_table_name, columns)
        selects.append(
            select(*table.c).where(create_filter_clauses(tables_hierarchy, table, uppercase_names))
        )
    else:
        for database, schemas in tables_hierarchy.items():
            if database:
                table = _information_schema_table(information_schema_table_name, columns, schema=database)
            else:
                view_schema, _, view = information_schema_table_name.rpartition(".")
                table = _information_schema_table(view, columns, schema=view_schema or None)
            chosen = [*table.c]
            if database and len(columns) <= ColumnIndex.DATABASE:
                # Without a database column the rows could not say which database they describe.
                chosen.append(literal(database).label("table_database"))
            selects.append(
                select(*chosen).where(create_filter_clauses({None: schemas}, table, uppercase_names))
            )
    if not selects:
        return ""
    statement = union_all(*selects) if len(selects) > 1 else selects[0]
    return str(statement.compile(sqlalchemy_engine, compile_kwargs={"literal_binds": True}))
