"""What is published: the schemas BI tools may read, and how to list their tables in any DuckDB
file (the warehouse, a serving file, a rollback copy). One list for the publisher, the PostgreSQL
loader, the quality gate and the candidate asset; and where a published table names a person,
one rule for removing a person from every copy kept (DuckDB files, Parquet, PostgreSQL)."""

from dataclasses import dataclass

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
