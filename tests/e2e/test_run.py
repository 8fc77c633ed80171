"""`peoplemart run` end to end: real Dagster, dbt and DuckDB file, on generated deliveries."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

PEOPLEMART = str(Path(sys.executable).parent / "peoplemart")
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e")]


def run(landing: Path, home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEOPLEMART_")}
    return subprocess.run(
        [PEOPLEMART, "run", "--landing", str(landing), "--home", str(home)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )


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
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.register("needles", pl.DataFrame({"needle": sorted(needles)}))
        columns = con.sql("""select table_schema, table_name, column_name
                             from information_schema.columns
                             where data_type = 'VARCHAR'
                               and table_name <> 'needles'
                               and table_schema not in ('information_schema', 'pg_catalog')
                          """).fetchall()
        for schema, table, column in columns:
            hits = con.sql(
                f'select count(*) from "{schema}"."{table}" '
                f'where "{column}" in (select needle from needles)'
            ).fetchall()[0][0]
            if hits:
                found.append((schema, table, column, hits))
    return found


@pytest.fixture(scope="module")
def first_run(small_landing, tmp_path_factory):
    landing = tmp_path_factory.mktemp("e2e") / "landing"
    shutil.copytree(small_landing, landing)
    home = landing.parent / "home"
    result = run(landing, home)
    return landing, home, result


def test_a_clean_run_succeeds_and_reports_every_file(first_run):
    landing, home, result = first_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "succeeded" in result.stdout and "checks:" in result.stdout
    reports = list((home / "runs").glob("*.json"))
    assert len(reports) == 1
    report = json.loads(reports[0].read_text())
    landed = [
        p
        for p in landing.rglob("*")
        if p.is_file() and p.name != "manifest.json" and ".truth" not in p.parts
    ]
    assert len(report["files"]) == len(landed)
    for file in report["files"]:
        assert file["rows_read"] == file["rows_loaded"] + file["rows_quarantined"]
    assert report["success"] and report["checks"]
    assert all(c["passed"] for c in report["checks"])
    assert {s["step"] for s in report["steps"]} >= {"raw_extracts", "warehouse_models"}


def test_no_name_or_bsn_reaches_any_table_or_file(first_run):
    landing, home, _ = first_run
    needles = personal_data(landing)
    assert len(needles) > 100
    assert varchar_values_in(home / "warehouse.duckdb", needles) == []
    key = (home / "secrets" / "pseudonymisation.key").read_text().strip()
    assert varchar_values_in(home / "warehouse.duckdb", {key}) == []
    written = [p for p in home.rglob("*") if p.is_file() and p.suffix in (".json", ".log")]
    for path in written:
        text = path.read_text(errors="ignore")
        assert not any(n in text for n in needles if len(n) > 6), path


def test_staging_serves_the_current_snapshot_with_pseudonymised_keys(first_run):
    landing, home, _ = first_run
    newest = sorted((landing / "hris").iterdir())[-1]
    delivered = pl.read_csv(
        newest / "employees.csv", separator=";", infer_schema=False, encoding="utf8-lossy"
    )
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        staged = con.sql("select employee_key from staging.stg_hris__employees").fetchall()
        births = con.sql("select count(*) from restricted.stg_restricted__hris_employees")
        assert births.fetchall()[0][0] == delivered.height
    assert len(staged) == delivered.height
    assert not {k for (k,) in staged} & set(delivered["personeelsnummer"])


def test_a_second_run_loads_nothing_new_and_a_damaged_delivery_is_reported(first_run):
    landing, home, _ = first_run
    again = run(landing, home)
    assert again.returncode == 0, again.stdout[-2000:]
    delivery = landing / "hris" / "20991231T000000"
    source = sorted((landing / "hris").iterdir())[-2]
    shutil.copytree(source, delivery)
    (delivery / "manifest.json").unlink()
    data = (delivery / "terminations.csv").read_bytes()
    (delivery / "terminations.csv").write_bytes(data[: len(data) // 2])
    damaged = run(landing, home)
    assert damaged.returncode == 0, damaged.stdout[-2000:]
    assert "hris/20991231T000000/terminations.csv" in damaged.stdout


def test_a_missing_landing_folder_is_a_clear_error(tmp_path):
    result = run(tmp_path / "nope", tmp_path / "home")
    assert result.returncode == 2
    assert "does not exist" in result.stderr
