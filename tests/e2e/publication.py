"""What a reader of a home's publication sees: serving.duckdb, the Parquet exports, the dashboard
and the PostgreSQL bi views, summarised so that two moments can be compared."""

import hashlib
from pathlib import Path

import duckdb
import psycopg

from metrics.embedded_postgres import embedded_postgres
from metrics.postgres import current_version


def serving_run_ids(serving: Path) -> set[str]:
    with duckdb.connect(str(serving), read_only=True) as con:
        tables = con.sql("select schema_name, table_name from duckdb_tables()").fetchall()
        union = " union ".join(f'select distinct run_id from {s}."{t}"' for s, t in tables)
        return {row[0] for row in con.sql(union).fetchall()}


def publication_state(home: Path) -> dict:
    """Everything a reader of the publication can see, summarised."""
    with embedded_postgres(home) as dsn, psycopg.connect(dsn) as conn:
        version = current_version(dsn)
        bi_run_ids = {
            r[0]
            for r in conn.execute(
                "select run_id from bi.kpi_catalog union select run_id from bi.dim_org_units "
                "union select run_id from bi.metrics_year"
            ).fetchall()
        }
    return {
        "serving_sha256": hashlib.sha256((home / "serving.duckdb").read_bytes()).hexdigest(),
        "serving_run_ids": serving_run_ids(home / "serving.duckdb"),
        "exports_latest": (home / "exports" / "LATEST").read_text(),
        "dashboard_sha256": hashlib.sha256((home / "dashboard.html").read_bytes()).hexdigest(),
        "postgres_version": version,
        "postgres_run_ids": bi_run_ids,
    }
