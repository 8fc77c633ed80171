"""Scan everything a home publishes for personal data that must never leave: names, BSN-like
numbers (nine digits passing the 11-proef) and exact birth dates.

What is scanned: every table of serving.duckdb, every Parquet export, the PostgreSQL `bi` views
(when a DSN is given), and the files readers open (dashboard, quality reports, run reports,
alerts). Exact birth dates are recognised by person: a published row whose employee key sits next
to a date equal to that employee's birth date (from the restricted layer, the only place that
holds them). Names are never stored anywhere, so the caller passes the names to look for (the
HR extract's, in tests and audits).
"""

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from ingestion.privacy import passes_11_proef

FORBIDDEN_COLUMN = re.compile(r"(birth|geboorte|bsn|naam|full_name|first_name|last_name)")
QUOTED_NINE_DIGITS = re.compile(r"[\"'>](\d{9})[\"'<]")
BIRTH_DATES = "restricted.stg_restricted__hris_employees"
PUBLISHED_FILES = ("dashboard.html", "dashboards", "quality", "runs", "alerts", "exports")


@dataclass(frozen=True)
class Finding:
    where: str
    what: str
    example: str


def _frame_findings(where: str, frame: pl.DataFrame, names: set[str], birth: pl.DataFrame):
    findings = []
    for column, dtype in frame.schema.items():
        if FORBIDDEN_COLUMN.search(column.lower()):
            findings.append(Finding(where, f"column {column} may hold personal data", column))
        if dtype == pl.String:
            values = frame[column].drop_nulls().unique()
            named = values.filter(values.is_in(list(names))) if names else values.head(0)
            if named.len():
                findings.append(Finding(where, f"name in column {column}", named[0]))
            nine = values.filter(values.str.contains(r"^\d{9}$"))
            bsn = [v for v in nine.to_list() if passes_11_proef(v)]
            if bsn:
                findings.append(Finding(where, f"BSN-like value in column {column}", bsn[0]))
    keys = [c for c, t in frame.schema.items() if t == pl.String and c.endswith("employee_key")]
    dates = [c for c, t in frame.schema.items() if t == pl.Date]
    for key in keys:
        for date in dates:
            pairs = frame.select(
                pl.col(key).alias("employee_key"), pl.col(date).alias("birth_date")
            )
            hits = pairs.join(birth, on=["employee_key", "birth_date"], how="inner")
            if hits.height:
                findings.append(
                    Finding(where, f"exact birth date in {date} next to {key}", str(hits[0, 1]))
                )
    return findings


def _birth_dates(warehouse: Path) -> pl.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(f"select distinct employee_key, birth_date from {BIRTH_DATES}").pl()


def scan_serving(serving: Path, names: set[str], birth: pl.DataFrame) -> list[Finding]:
    findings = []
    with duckdb.connect(str(serving), read_only=True) as con:
        tables = con.sql("select schema_name, table_name from duckdb_tables()").fetchall()
        for schema, table in tables:
            frame = con.sql(f'select * from {schema}."{table}"').pl()
            findings += _frame_findings(f"serving.duckdb {schema}.{table}", frame, names, birth)
    return findings


def scan_parquet(exports: Path, names: set[str], birth: pl.DataFrame) -> list[Finding]:
    findings = []
    for path in sorted(exports.rglob("*.parquet")):
        findings += _frame_findings(str(path), pl.read_parquet(path), names, birth)
    return findings


def scan_postgres(dsn: str, names: set[str], birth: pl.DataFrame) -> list[Finding]:
    import psycopg

    findings = []
    with psycopg.connect(dsn) as conn:
        views = conn.execute(
            "select table_name from information_schema.views where table_schema = 'bi'"
        ).fetchall()
        for (view,) in views:
            cursor = conn.execute(f'select * from bi."{view}"')
            columns = [d.name for d in cursor.description]
            frame = pl.DataFrame(
                cursor.fetchall(), schema=columns, orient="row", infer_schema_length=None
            )
            findings += _frame_findings(f"postgres bi.{view}", frame, names, birth)
    return findings


def scan_files(home: Path, names: set[str]) -> list[Finding]:
    findings = []
    long_names = [n for n in names if len(n) > 6]
    for entry in PUBLISHED_FILES:
        root = home / entry
        paths = [root] if root.is_file() else sorted(root.rglob("*")) if root.exists() else []
        for path in paths:
            if not path.is_file() or path.suffix in (".parquet", ".duckdb"):
                continue
            text = path.read_text(errors="ignore")
            bsn = [m for m in QUOTED_NINE_DIGITS.findall(text) if passes_11_proef(m)]
            if bsn:
                findings.append(Finding(str(path), "BSN-like value", bsn[0]))
            named = next((n for n in long_names if n in text), None)
            if named:
                findings.append(Finding(str(path), "name", named))
    return findings


def scan_home(home: Path, names: set[str] = frozenset(), dsn: str | None = None) -> list[Finding]:
    """Every finding in what the home publishes; an empty list is a clean publication."""
    birth = _birth_dates(home / "warehouse.duckdb")
    findings = scan_serving(home / "serving.duckdb", set(names), birth)
    findings += scan_parquet(home / "exports", set(names), birth)
    if dsn:
        findings += scan_postgres(dsn, set(names), birth)
    findings += scan_files(home, set(names))
    return findings
