"""PostgreSQL serving for BI tools that speak SQL (Power BI, Metabase, Superset).

Every publication loads into a new versioned schema (`pm_<run>`), invisible to BI users, and the
stable views in schema `bi` are repointed to it in one transaction: a reader sees the previous
publication or the new one, never a mix, and a failed load leaves `bi` untouched. The previous
versioned schema is kept for rollback; older ones are dropped.

Access (DESIGN.md, Privacy):
- `bi_reader`: reads the `bi` views, every row; no privilege on any other schema.
- manager roles (`peoplemart grant-manager`): members of `bi_manager`; row-level security on every
  published table lets them see only rows of their own org units and those units' subtrees, and
  no row of a table that is not about org units.
- The views are owned by `bi_owner` (no login), the only role that reads the versioned schemas.
  Row-level security applies to it (it does not own the tables), so a manager's `current_user`
  filters the rows behind every view.
"""

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingestion.duckdb_memory import bounded_connect, streaming_limit
from metrics.published import RemovedPeople, published_tables

BI_SCHEMA = "bi"
ACCESS_SCHEMA = "peoplemart_access"
READER, MANAGER_GROUP, OWNER = "bi_reader", "bi_manager", "bi_owner"
VERSION_PREFIX = "pm_"
KEEP_VERSIONS = 2
SUBTREE = "org_unit_subtree"
ORG_LEVELS = 6
COPY_CHUNK = 1 << 20
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresPublishError(RuntimeError):
    pass


def _pg_type(duckdb_type: str) -> str:
    upper = duckdb_type.upper()
    if upper.startswith("DECIMAL"):
        return upper.replace("DECIMAL", "numeric")
    return {
        "VARCHAR": "text",
        "BOOLEAN": "boolean",
        "DATE": "date",
        "TIMESTAMP": "timestamp",
        "TIMESTAMP WITH TIME ZONE": "timestamptz",
        "DOUBLE": "double precision",
        "FLOAT": "real",
        "BIGINT": "bigint",
        "INTEGER": "integer",
        "SMALLINT": "smallint",
        "TINYINT": "smallint",
        "UBIGINT": "numeric",
        "HUGEINT": "numeric",
        "UINTEGER": "bigint",
    }.get(upper, "text")


def version_schema(run_id: str) -> str:
    return VERSION_PREFIX + re.sub(r"[^a-z0-9]", "", run_id.lower())[:40]


@contextmanager
def connect(dsn: str) -> Iterator:
    import psycopg

    with psycopg.connect(dsn, autocommit=False) as conn:
        yield conn


def ensure_roles(conn) -> None:
    """Roles and the access table exist once per database; creating them again is a no-op."""
    with conn.cursor() as cur:
        for role in (READER, MANAGER_GROUP, OWNER):
            cur.execute(
                f"do $$ begin if not exists (select from pg_roles where rolname = '{role}') "
                f"then create role {role} nologin; end if; end $$"
            )
        cur.execute(f"create schema if not exists {BI_SCHEMA}")
        cur.execute(f"create schema if not exists {ACCESS_SCHEMA}")
        cur.execute(
            f"create table if not exists {ACCESS_SCHEMA}.manager_scopes ("
            "role_name text not null, root_org_unit_id text not null, "
            "primary key (role_name, root_org_unit_id))"
        )
        cur.execute(
            f"create table if not exists {ACCESS_SCHEMA}.publications ("
            "version_schema text not null, "
            "published_at timestamptz not null default clock_timestamp())"
        )
        cur.execute(f"revoke all on schema {ACCESS_SCHEMA} from public")
        cur.execute(f"grant usage on schema {ACCESS_SCHEMA} to {OWNER}")
        cur.execute(f"grant select on {ACCESS_SCHEMA}.manager_scopes to {OWNER}")
        cur.execute(f"revoke all on schema {BI_SCHEMA} from public")
        cur.execute(f"grant usage, create on schema {BI_SCHEMA} to {OWNER}")
        cur.execute(f"grant usage on schema {BI_SCHEMA} to {READER}, {MANAGER_GROUP}")
        # Nobody but the loader creates objects in public.
        cur.execute("revoke create on schema public from public")


def _columns(serving, schema: str, table: str) -> list[tuple[str, str]]:
    return serving.execute(
        "select column_name, data_type from duckdb_columns() "
        "where schema_name = ? and table_name = ? order by column_index",
        [schema, table],
    ).fetchall()


def _row_filter(columns: set[str], version: str) -> str:
    """The rows a manager may see in a table, by the org unit the row is about."""
    scope = (
        f"select subtree.org_unit_id from {version}.{SUBTREE} as subtree "
        f"join {ACCESS_SCHEMA}.manager_scopes as scopes "
        "on scopes.root_org_unit_id = subtree.ancestor_org_unit_id "
        "where scopes.role_name = current_user"
    )
    if "org_unit_id" in columns:
        return f"org_unit_id in ({scope})"
    if "segment_key" in columns:
        return (
            f"segment_key in (select segments.segment_key from {version}.dim_segments as segments "
            f"where segments.org_unit_id in ({scope}))"
        )
    if {"dimension", "member"} <= columns:
        # KPI tables: a manager sees the figures of the units in their subtree.
        return f"dimension like 'org_level_%' and member in ({scope})"
    return "false"


def load_version(dsn: str, serving_file: Path, run_id: str) -> str:
    """Load the published tables into a new versioned schema (not yet visible); return its name."""
    version = version_schema(run_id)
    with (
        connect(dsn) as conn,
        bounded_connect(serving_file, read_only=True, limit=streaming_limit()) as serving,
    ):
        ensure_roles(conn)
        with conn.cursor() as cur:
            cur.execute(f"drop schema if exists {version} cascade")
            cur.execute(f"create schema {version}")
            cur.execute(f"grant usage on schema {version} to {OWNER}")
            tables = published_tables(serving)
            for schema, table in tables:
                copy_to_postgres(serving, cur, schema, table, version)
            _create_subtree(cur, version)
            for _schema, table in tables:
                names = {name for name, _ in _columns(serving, _schema, table)}
                cur.execute(f'alter table {version}."{table}" enable row level security')
                cur.execute(
                    f'create policy bi_rows on {version}."{table}" for select using ('
                    f"pg_has_role(current_user, '{READER}', 'member') or "
                    f"({_row_filter(names, version)}))"
                )
                cur.execute(f'grant select on {version}."{table}" to {OWNER}')
            cur.execute(f"grant select on {version}.{SUBTREE} to {OWNER}")
        conn.commit()
    return version


def copy_to_postgres(duck, cur, schema: str, table: str, target_schema: str) -> None:
    """A DuckDB table or view as a new PostgreSQL table of the same name in target_schema."""
    columns = _columns(duck, schema, table)
    definition = ", ".join(f'"{name}" {_pg_type(kind)}' for name, kind in columns)
    cur.execute(f'create table "{target_schema}"."{table}" ({definition})')
    _copy_table(duck, cur, f'{schema}."{table}"', f'"{target_schema}"."{table}"')


def _copy_table(serving, cur, source: str, target: str) -> None:
    """DuckDB writes CSV, PostgreSQL's COPY reads it: the fastest path between the two."""
    with tempfile.TemporaryDirectory() as scratch:
        csv = Path(scratch) / "table.csv"
        serving.execute(f"copy (select * from {source}) to '{csv}' (format csv, header false)")
        with cur.copy(f"copy {target} from stdin (format csv)") as copy, csv.open("rb") as handle:
            while chunk := handle.read(COPY_CHUNK):
                copy.write(chunk)


def _create_subtree(cur, version: str) -> None:
    """Every (ancestor, unit) pair, the unit itself included: a unit's manager sees its subtree."""
    levels = " union ".join(
        f"select org_level_{n}_id as ancestor_org_unit_id, org_unit_id "
        f"from {version}.dim_org_units where org_level_{n}_id is not null"
        for n in range(1, ORG_LEVELS + 1)
    )
    cur.execute(f"create table {version}.{SUBTREE} as {levels}")


def repoint_views(dsn: str, version: str) -> None:
    """Point every `bi` view at the new version in one transaction, then drop old versions."""
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "select table_name from information_schema.tables where table_schema = %s "
            "and table_name <> %s order by 1",
            [version, SUBTREE],
        )
        tables = [row[0] for row in cur.fetchall()]
        if not tables:
            raise PostgresPublishError(f"schema {version} holds no tables; bi left unchanged")
        cur.execute(
            "select table_name from information_schema.views where table_schema = %s",
            [BI_SCHEMA],
        )
        for (view,) in cur.fetchall():
            cur.execute(f'drop view {BI_SCHEMA}."{view}"')
        cur.execute(f"set local role {OWNER}")
        for table in tables:
            cur.execute(f'create view {BI_SCHEMA}."{table}" as select * from {version}."{table}"')
            cur.execute(f'grant select on {BI_SCHEMA}."{table}" to {READER}, {MANAGER_GROUP}')
        cur.execute("reset role")
        cur.execute(
            f"insert into {ACCESS_SCHEMA}.publications (version_schema) values (%s)", [version]
        )
        # Keep the current version and the one before it (the rollback); drop the rest.
        cur.execute(
            f"select version_schema from {ACCESS_SCHEMA}.publications "
            "group by version_schema order by max(published_at) desc offset %s",
            [KEEP_VERSIONS],
        )
        for (old,) in cur.fetchall():
            cur.execute(f"drop schema if exists {old} cascade")
        conn.commit()


def current_version(dsn: str) -> str | None:
    """The versioned schema the `bi` views read (None before the first publication)."""
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "select distinct table_schema from information_schema.view_table_usage "
            "where view_schema = %s",
            [BI_SCHEMA],
        )
        rows = [row[0] for row in cur.fetchall()]
    return rows[0] if len(rows) == 1 else None


def grant_manager(dsn: str, role: str, org_unit_ids: list[str], password: str | None) -> None:
    """Create (or extend) a manager role that sees only the given org units and their subtrees."""
    if not ROLE_NAME.match(role) or role in (READER, MANAGER_GROUP, OWNER, "postgres"):
        raise PostgresPublishError(
            f"role name {role!r}: use lower-case letters, digits and _ (not a peoplemart role)"
        )
    from psycopg import sql

    with connect(dsn) as conn, conn.cursor() as cur:
        ensure_roles(conn)
        cur.execute("select 1 from pg_roles where rolname = %s", [role])
        if not cur.fetchone():
            cur.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
        if password:
            cur.execute(
                sql.SQL("alter role {} password {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
        cur.execute(
            sql.SQL("grant {} to {}").format(sql.Identifier(MANAGER_GROUP), sql.Identifier(role))
        )
        for unit in org_unit_ids:
            cur.execute(
                f"insert into {ACCESS_SCHEMA}.manager_scopes values (%s, %s) "
                "on conflict do nothing",
                [role, unit],
            )
        conn.commit()


def remove_people_from_old_versions(dsn: str, keys: list[str]) -> dict[str, int]:
    """AVG retention for the versions kept for rollback: rows of `keys` deleted (their own, and
    survey results grouped by them as manager), references to them emptied. The current version
    was loaded without them."""
    removed: dict[str, int] = {}
    current = current_version(dsn)
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "select table_schema, table_name, array_agg(column_name::text) "
            "from information_schema.columns where table_schema like %s and table_schema <> %s "
            "group by 1, 2 order by 1, 2",
            [VERSION_PREFIX + "%", current or ""],
        )
        for schema, table, columns in cur.fetchall():
            people = RemovedPeople.in_columns(set(columns), removed="= any(%(keys)s)")
            for statement in people.statements(f'{schema}."{table}"'):
                cur.execute(statement, {"keys": keys})
                if cur.rowcount:
                    name = f"postgres:{schema}.{table}"
                    removed[name] = removed.get(name, 0) + cur.rowcount
        conn.commit()
    return removed
