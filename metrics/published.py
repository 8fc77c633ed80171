"""What is published: the schemas BI tools may read, and how to list their tables in any DuckDB
file (the warehouse, a serving file, a rollback copy). One list for the publisher, the PostgreSQL
loader, the quality gate and the candidate asset."""

import duckdb

PUBLISHED_SCHEMAS = ("marts", "survey", "kpi")


def published_tables(
    con: duckdb.DuckDBPyConnection, database: str | None = None
) -> list[tuple[str, str]]:
    """(schema, table) of every published table in `database` (default: the connection's own)."""
    schemas = ", ".join(f"'{s}'" for s in PUBLISHED_SCHEMAS)
    where = f"database_name = '{database}'" if database else "database_name = current_database()"
    return con.sql(
        f"select schema_name, table_name from duckdb_tables() "
        f"where {where} and schema_name in ({schemas}) order by all"
    ).fetchall()
