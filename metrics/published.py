"""What is published: the schemas BI tools may read, where they are written, and how to list
their tables in any DuckDB file (the publishable file, a serving file, a rollback copy). One list
for the publisher, the PostgreSQL loader, the quality gate and the candidate asset; and where a
published table names a person, one rule for removing a person from every copy kept (DuckDB
files, Parquet, PostgreSQL).

The published schemas live in `publishable.duckdb` beside the warehouse, not in it: dbt writes
the marts there (dbt_project/macros/generate_database_name.sql) and the metrics step the KPI
tables and survey results, so that publishing is a copy of that file (metrics/publish.py). A
connection to the warehouse attaches it (`attach_publishable`) and finds `marts.x`, `kpi.x` and
`survey.x` there by its search path, as if they were the warehouse's own.
"""

from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion.duckdb_memory import bounded_connect

PUBLISHED_SCHEMAS = ("marts", "survey", "kpi")
PUBLISHABLE = "publishable"
PUBLISHABLE_FILE = "publishable.duckdb"
# DuckDB 1.4's storage format, which the DuckDB bundled with many BI tools can open: the serving
# file is a copy of the publishable file.
STORAGE_VERSION = "v1.4.0"


def publishable_path(warehouse: Path) -> Path:
    return Path(warehouse).with_name(PUBLISHABLE_FILE)


def attach_publishable(
    con: duckdb.DuckDBPyConnection, warehouse: Path, read_only: bool = False
) -> bool:
    """Attach the publishable file beside `warehouse` and put its schemas on the search path;
    a writer creates the file and its schemas. False when a reader finds no file (nothing built
    yet): the connection then sees the warehouse alone."""
    path = publishable_path(warehouse)
    if read_only and not path.exists():
        return False
    options = "read_only" if read_only else f"storage_version '{STORAGE_VERSION}'"
    con.execute(f"attach if not exists '{path}' as {PUBLISHABLE} ({options})")
    if not read_only:
        for schema in PUBLISHED_SCHEMAS:
            con.execute(f"create schema if not exists {PUBLISHABLE}.{schema}")
    present = [
        row[0]
        for row in con.sql(
            f"select schema_name from duckdb_schemas() where database_name = '{PUBLISHABLE}'"
        ).fetchall()
    ]
    # Searched after the warehouse's own main schema: an unqualified name stays the warehouse's.
    searched = [f"{PUBLISHABLE}.{s}" for s in PUBLISHED_SCHEMAS if s in present]
    con.execute(f"set search_path = '{','.join(['main', *searched])}'")
    return True


def connect_warehouse(
    warehouse: Path, read_only: bool = False, limit: str | None = None
) -> duckdb.DuckDBPyConnection:
    """The warehouse under the night's memory bound, with its publishable file attached."""
    con = bounded_connect(warehouse, read_only=read_only, limit=limit)
    try:
        attach_publishable(con, warehouse, read_only)
    except BaseException:
        con.close()
        raise
    return con


def start_publishable_anew(warehouse: Path) -> None:
    """Before a full build: an empty publishable file. Its copy is what is published, free
    blocks included, and a file kept from night to night would carry in them rows of earlier
    nights' tables, of people retention has since removed among them. The published schemas a
    warehouse of an earlier version holds go too: they are rebuilt in the new file."""
    path = publishable_path(warehouse)
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)
    if not Path(warehouse).exists():
        return
    with bounded_connect(warehouse) as con:
        for schema in PUBLISHED_SCHEMAS:
            con.execute(f"drop schema if exists {schema} cascade")


class MartsNotBuilt(RuntimeError):
    """The KPI tables and the publication read the marts a build wrote to the publishable file."""

    def __init__(self, warehouse: Path):
        super().__init__(
            f"no marts in {publishable_path(warehouse)}: the warehouse was built by an earlier "
            "version of peoplemart (its marts in the warehouse itself), or its last build did "
            "not finish; `peoplemart run` (or `peoplemart build`) builds them there"
        )


def require_built_marts(con: duckdb.DuckDBPyConnection, warehouse: Path) -> None:
    """Before the metrics read a mart: a clear error where DuckDB would name a missing table.
    Asked of the file's tables, not of its existence: a writer that ran first created it."""
    if not any(schema == "marts" for schema, _ in published_tables(con, PUBLISHABLE)):
        raise MartsNotBuilt(warehouse)


def published_tables(
    con: duckdb.DuckDBPyConnection, database: str | None = None
) -> list[tuple[str, str]]:
    """(schema, table) of every published table in `database`; by default in the publishable
    file when the connection has it attached, else in the connection's own file."""
    schemas = ", ".join(f"'{s}'" for s in PUBLISHED_SCHEMAS)
    where = (
        f"database_name = '{database}'"
        if database
        else "database_name = coalesce((select database_name from duckdb_databases() "
        f"where database_name = '{PUBLISHABLE}'), current_database())"
    )
    return con.sql(
        f"select schema_name, table_name from duckdb_tables() "
        f"where {where} and schema_name in ({schemas}) order by all"
    ).fetchall()


# Where a published table names a person: their own rows, and references from other rows.
OWNER_KEY = "employee_key"
REFERENCE_KEYS = ("manager_employee_key", "hired_employee_key")
# Survey results per manager name the manager's pseudonym as the group.
SURVEY_GROUP_COLUMNS = {"attribute", "attribute_value"}
# A person removed: their pseudonym is in the keys table retention fills in a DuckDB connection.
REMOVED = "in (select key from retention_keys)"


@dataclass(frozen=True)
class RemovedPeople:
    """How a table with these columns names the people in `retention_keys`: the condition of
    their own rows (None: it holds no rows of a person) and the columns referring to one. The
    one rule for every old copy, rewritten file or table updated in place."""

    owned: str | None
    references: tuple[str, ...]
    removed: str

    @classmethod
    def in_columns(cls, columns: set[str], removed: str = REMOVED) -> "RemovedPeople":
        """`removed`: the SQL that follows a key to test that its person is removed."""
        owned = [f"{OWNER_KEY} {removed}"] if OWNER_KEY in columns else []
        if columns >= SURVEY_GROUP_COLUMNS:
            owned.append(f"(attribute = 'manager' and attribute_value {removed})")
        # coalesce: a row without a person (a null key) is no removed person's row.
        condition = f"coalesce({' or '.join(owned)}, false)" if owned else None
        return cls(condition, tuple(r for r in REFERENCE_KEYS if r in columns), removed)

    def statements(self, table: str) -> list[str]:
        """Delete their rows, then empty references to them in the rows left."""
        deleted = [f"delete from {table} where {self.owned}"] if self.owned else []
        return deleted + [
            f"update {table} set {r} = null where {r} {self.removed}" for r in self.references
        ]

    @property
    def named(self) -> bool:
        return self.owned is not None or bool(self.references)
