"""Write, audit, publish (DESIGN.md): BI tools read `serving.duckdb`, never the warehouse.

The publishable schemas (marts, the anonymity-checked survey results, the KPI tables and
catalog) live in a file of their own (metrics/published.py); it is copied to a new file, every
table given the run id, audited, checkpointed and closed, and only then swapped in for
`serving.duckdb` with one atomic rename; the previous publication stays beside it as
`serving.previous.duckdb` for rollback. The file is in DuckDB 1.4's storage format, which the
DuckDB bundled with many BI tools can open. Parquet exports of the same tables
go to `exports/<run_id>/`, and `exports/LATEST` names the newest complete set. When a PostgreSQL
is configured, the same tables load into a new versioned schema before the swap and its `bi`
views are repointed after it (metrics/postgres.py).
"""

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion.duckdb_memory import bounded_connect, streaming_limit
from ingestion.retention import key_table
from metrics import postgres
from metrics.published import (
    PUBLISHABLE,
    PUBLISHED_SCHEMAS,
    RemovedPeople,
    publishable_path,
    published_tables,
)

SERVING = "serving.duckdb"
PREVIOUS = "serving.previous.duckdb"
# The type of every published table's run id column (_copy_publishable).
RUN_ID_TYPE = "publication_run"
# Columns that must never reach a published table, whatever a model does.
FORBIDDEN_COLUMNS = {"bsn", "full_name", "naam", "birth_date", "geboortedatum", "respondent_id"}


class PublishError(RuntimeError):
    """The new publication failed its audit; the previous one stays in place."""


@dataclass
class Publication:
    run_id: str
    path: Path
    tables: dict[str, int]
    exports: Path
    postgres_schema: str | None = None


def publish(home: Path, run_id: str, postgres_dsn: str | None = None) -> Publication:
    staged = home / f"{SERVING}.next"
    _discard(home, staged, run_id)
    try:
        counts = _copy_publishable(home, staged, run_id)
        exports = _export_parquet(home, staged, run_id, counts)
        # Loaded but not yet visible: a failed load leaves every reader on the previous run.
        version = postgres.load_version(postgres_dsn, staged, run_id) if postgres_dsn else None
    except BaseException:
        # A failed publication leaves nothing of itself behind: at a million employees the
        # staged copy is 20 GB and the export set 13 GB, on the disk the next night needs.
        _discard(home, staged, run_id)
        raise
    _swap_in(home, staged)
    if version:
        postgres.repoint_views(postgres_dsn, version)
    (home / "exports" / "LATEST").write_text(run_id + "\n")
    # A night killed mid-export (the kernel's out-of-memory kill runs no cleanup) left a partial
    # set; counted as a set, it would displace the one kept for rollback.
    for partial in (home / "exports").glob("*.partial"):
        shutil.rmtree(partial, ignore_errors=True)
    prune_per_run([p for p in (home / "exports").iterdir() if p.is_dir()], keep=exports)
    return Publication(run_id, home / SERVING, counts, exports, version)


def _copy_publishable(home: Path, staged: Path, run_id: str) -> dict[str, int]:
    """The publishable file copied whole, every published table then given the run id column.
    Copying the file takes a second where copying its rows took 20 s at 100,000 employees; the
    file is started anew by every full build (metrics/published.py `start_publishable_anew`), so
    the blocks it carries hold nothing an earlier night wrote."""
    publishable = publishable_path(home / "warehouse.duckdb")
    if not publishable.exists():
        raise PublishError(f"nothing to publish: {publishable} does not exist (run the build)")
    # What a writer left in the write-ahead log goes into the file first: the copy is the file.
    with bounded_connect(publishable) as con:
        con.execute("checkpoint")
    shutil.copyfile(publishable, staged)
    # The night's bound, not the copying one: a column added with a default is held in memory
    # until checkpointed, one byte per row (a billion rows of the KPI tables at a million
    # employees ran out of 1.5GB when every table was checkpointed at the end).
    con = bounded_connect()
    try:
        con.execute(f"attach '{publishable}' as {PUBLISHABLE} (read_only)")
        con.execute(f"attach '{staged}' as serving")
        _keep_only_published_tables(con)
        tables = published_tables(con, "serving")
        # The run id as an enum of its one value, a column DuckDB stores as one constant per
        # row group: added to a table of 44 million rows in a third of a second. Readers see
        # its text.
        quoted = run_id.replace("'", "''")
        con.execute(f"create type serving.main.{RUN_ID_TYPE} as enum ('{quoted}')")
        for schema, table in tables:
            con.execute(
                f'alter table serving.{schema}."{table}" add column run_id '
                f"serving.main.{RUN_ID_TYPE} default '{quoted}'"
            )
            con.execute("checkpoint serving")
        counts = _audit(con, tables, run_id)
        con.execute("checkpoint serving")
        con.execute("detach serving")
    finally:
        con.close()
    return counts


def _keep_only_published_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Views hold no rows, and those dbt writes name the warehouse's and the publishable file's
    catalogs, which a reader of the serving file does not have: they are not published. A
    table outside the published schemas must never have been written to the file, since its
    blocks would be copied with it: the publication is refused."""
    schemas = ", ".join(f"'{s}'" for s in PUBLISHED_SCHEMAS)
    strays = con.sql(
        "select schema_name || '.' || table_name from duckdb_tables() "
        f"where database_name = 'serving' and schema_name not in ({schemas}) order by 1"
    ).fetchall()
    if strays:
        raise PublishError(
            f"the publishable file holds tables outside {', '.join(PUBLISHED_SCHEMAS)}: "
            f"{', '.join(s[0] for s in strays)}"
        )
    for schema, view in con.sql(
        "select schema_name, view_name from duckdb_views() "
        "where database_name = 'serving' and not internal"
    ).fetchall():
        con.execute(f'drop view serving.{schema}."{view}"')


def _discard(home: Path, staged: Path, run_id: str) -> None:
    """What a publication of `run_id` staged and did not swap in."""
    staged.unlink(missing_ok=True)
    staged.with_name(staged.name + ".wal").unlink(missing_ok=True)
    shutil.rmtree(_partial_export(home, run_id), ignore_errors=True)


# What a publication writes per run (export sets, dashboard pages) is kept for this publication
# and the one before it, as serving.duckdb and the PostgreSQL versions are. A nightly run would
# otherwise keep a full copy per night, for ever.
KEEP_PER_RUN = 2


def prune_per_run(copies: list[Path], keep: Path) -> None:
    """Remove all but `keep` and the newest KEEP_PER_RUN - 1 of the other per-run copies."""
    older = sorted((p for p in copies if p != keep), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in older[KEEP_PER_RUN - 1 :]:
        if old.is_dir():
            shutil.rmtree(old)
        else:
            old.unlink()


def _audit(con, tables: list[tuple[str, str]], run_id: str) -> dict[str, int]:
    """Same rows as the publishable file, one run id, no forbidden column, or nothing published."""
    counts = {}
    for schema, table in tables:
        source = con.sql(f'select count(*) from {PUBLISHABLE}.{schema}."{table}"').fetchall()[0][0]
        copied, runs = con.sql(
            f'select count(*), count(distinct run_id) from serving.{schema}."{table}"'
        ).fetchall()[0]
        if copied != source or (copied and runs != 1):
            raise PublishError(f"{schema}.{table}: copied {copied} of {source} rows")
        columns = {
            c[0]
            for c in con.sql(
                f"select column_name from duckdb_columns() where database_name = 'serving' "
                f"and schema_name = '{schema}' and table_name = '{table}'"
            ).fetchall()
        }
        leaked = columns & FORBIDDEN_COLUMNS
        if leaked:
            raise PublishError(f"{schema}.{table} has forbidden column(s) {sorted(leaked)}")
        counts[f"{schema}.{table}"] = copied
    return counts


# zstd at its fastest level: at a million employees the largest export (171 million segment
# periods) took 31.7 s and 2.9 GB against snappy's (DuckDB's default) 38.6 s and 5.2 GB: less to
# write was quicker than the cheaper codec, and snappy's whole set did not fit beside the
# warehouse and the serving copy on the build machine's disk.
PARQUET_OPTIONS = "format parquet, compression zstd, compression_level 1"


def _export_parquet(home: Path, staged: Path, run_id: str, counts: dict[str, int]) -> Path:
    target = home / "exports" / run_id
    partial = _partial_export(home, run_id)
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with bounded_connect(staged, read_only=True, limit=streaming_limit()) as con:
        con.execute("set preserve_insertion_order = false")
        for name in counts:
            schema, table = name.split(".", 1)
            con.execute(
                f"copy (select * from {schema}.\"{table}\") to '{partial / (name + '.parquet')}' "
                f"({PARQUET_OPTIONS})"
            )
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def _partial_export(home: Path, run_id: str) -> Path:
    return home / "exports" / f"{run_id}.partial"


def _swap_in(home: Path, staged: Path) -> None:
    """Keep the current publication as the previous one, then replace it in one rename."""
    current, previous = home / SERVING, home / PREVIOUS
    if current.exists():
        previous.unlink(missing_ok=True)
        os.link(current, previous)
    os.replace(staged, current)


def remove_people_from_old_copies(
    home: Path, keys: list[str], postgres_dsn: str | None = None
) -> dict[str, int]:
    """AVG retention for what was published before this run: the rollback copy, every Parquet
    export set and the PostgreSQL versions kept for rollback lose the rows of `keys`
    (references to them are emptied). The current publication was built without them."""
    removed: dict[str, int] = {}
    if postgres_dsn:
        removed |= postgres.remove_people_from_old_versions(postgres_dsn, keys)
    previous = home / PREVIOUS
    if previous.exists():
        with bounded_connect() as con:
            con.execute(f"attach '{previous}' as rollback_copy")
            key_table(con, "retention_keys", keys)
            for schema, table in published_tables(con, "rollback_copy"):
                name = f'rollback_copy.{schema}."{table}"'
                changed = _remove_from(con, name)
                if changed:
                    removed[f"{PREVIOUS}:{schema}.{table}"] = changed
            con.execute("checkpoint rollback_copy")
    for export in sorted((home / "exports").glob("*/*.parquet")):
        with bounded_connect(limit=streaming_limit()) as con:
            con.execute("set preserve_insertion_order = false")
            changed = _rewrite_without(con, export, keys)
        if changed:
            removed[f"exports/{export.parent.name}/{export.name}"] = changed
    return removed


def _rewrite_without(con: duckdb.DuckDBPyConnection, export: Path, keys: list[str]) -> int:
    """Rewrite one Parquet export without the rows of `keys` and with references to them
    emptied; how many rows changed (0: the file is left as it was).

    Most exports name nobody (the KPI tables: 63 million rows at 100,000 employees) and are not
    read at all; the others are first only counted, from their person columns, and a file in
    which nobody removed appears is not rewritten. A rewrite streams from file to file: read
    into a table first, the workforce facts (13 million rows) took half a minute a night."""
    source = f"read_parquet('{export}')"
    people = RemovedPeople.in_columns(_columns(con, source))
    if not people.named:
        return 0
    key_table(con, "retention_keys", keys)
    dropped = people.owned or "false"
    counted = [f"count(*) filter (where {dropped})"] + [
        f"count(*) filter (where not {dropped} and {r} {people.removed})" for r in people.references
    ]
    changed = sum(con.sql(f"select {', '.join(counted)} from {source}").fetchall()[0])
    if not changed:
        return 0
    emptied = ", ".join(
        f"case when {r} {people.removed} then null else {r} end as {r}" for r in people.references
    )
    kept = f"select * {f'replace ({emptied})' if people.references else ''} from {source}"
    staged = export.with_suffix(".parquet.next")
    con.execute(f"copy ({kept} where not {dropped}) to '{staged}' ({PARQUET_OPTIONS})")
    os.replace(staged, export)
    return changed


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {row[0] for row in con.sql(f"select * from {table} limit 0").description}


def _remove_from(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """Delete the rows of the people in `retention_keys` from a table and empty references to
    them; how many rows changed."""
    statements = RemovedPeople.in_columns(_columns(con, table)).statements(table)
    return sum(con.execute(statement).fetchall()[0][0] for statement in statements)
