"""Run the real pipeline on a landing folder and ask it questions: shared by the test modules
that check hand-computed fixtures."""

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl

from metrics.published import connect_warehouse

PEOPLEMART = str(Path(sys.executable).parent / "peoplemart")


def peoplemart(*args: str | Path, env: dict | None = None, timeout: int = 900):
    """The `peoplemart` command as a user runs it: no PEOPLEMART_ setting of the test machine
    leaks in, only those in `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PEOPLEMART_")}
    return subprocess.run(
        [PEOPLEMART, *map(str, args)],
        capture_output=True,
        text=True,
        env=clean | (env or {}),
        timeout=timeout,
    )


def run_pipeline(landing: Path, home: Path, *options: str, env: dict | None = None):
    return peoplemart("run", "--landing", landing, "--home", home, *options, env=env)


def built_home(tmp_path_factory, name: str, write_landing: Callable[[Path], Path]) -> Path:
    """A fresh home built by `peoplemart run` from the landing `write_landing` writes."""
    root = tmp_path_factory.mktemp(name)
    landing = write_landing(root / "landing")
    result = run_pipeline(landing, root / "home")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return root / "home"


def read_only(home: Path) -> duckdb.DuckDBPyConnection:
    """The home's warehouse with its publishable file (the marts, KPI tables, survey results)."""
    return connect_warehouse(home / "warehouse.duckdb", read_only=True)


def kpi(home: Path, metrics: str | list[str], *args: str) -> subprocess.CompletedProcess:
    names = metrics if isinstance(metrics, str) else ",".join(metrics)
    return peoplemart("kpi", names, "--home", home, *args, timeout=300)


def kpi_json(home: Path, metrics: str | list[str], *args: str) -> list[dict]:
    result = kpi(home, metrics, *args, "--format", "json")
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def personal_data(landing: Path) -> set[str]:
    """Every name and BSN the HR system delivered."""
    values: set[str] = set()
    for path in landing.glob("hris/*/employees.csv"):
        frame = pl.read_csv(
            path.read_bytes().decode("cp1252").encode(), separator=";", infer_schema=False
        )
        values |= set(frame["naam"]) | set(frame["bsn"])
    return values


def varchar_values_in(warehouse: Path, needles: set[str]) -> list[tuple]:
    found = []
    opened = (
        connect_warehouse(warehouse, read_only=True)
        if warehouse.name == "warehouse.duckdb"
        else duckdb.connect(str(warehouse), read_only=True)
    )
    with opened as con:
        con.register("needles", pl.DataFrame({"needle": sorted(needles)}))
        columns = con.sql("""select table_catalog, table_schema, table_name, column_name
                             from information_schema.columns
                             where data_type = 'VARCHAR'
                               and table_name <> 'needles'
                               and table_schema not in ('information_schema', 'pg_catalog')
                          """).fetchall()
        for catalog, schema, table, column in columns:
            hits = con.sql(
                f'select count(*) from "{catalog}"."{schema}"."{table}" '
                f'where "{column}" in (select needle from needles)'
            ).fetchall()[0][0]
            if hits:
                found.append((schema, table, column, hits))
    return found
