"""kill -9 of `peoplemart run` at random points of every stage: the publication readers see stays
the last good one, the warehouse opens, no loaded file loses a row, and the next run ends with
exactly the tables a clean run builds."""

import json
import os
import random
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import duckdb
import psutil
import pytest

from metrics.embedded_postgres import stop_embedded_postgres
from tests.e2e.publication import publication_state
from tests.pipeline import PEOPLEMART, read_only, run_pipeline

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("crash")]

# Where a kill lands: after the first step of the stage starts, within that stage's duration in
# a clean run.
STAGES = {
    "ingestion": ["raw_extracts"],
    "dbt": ["warehouse_models"],
    "metrics": ["survey_results", "kpi_tables"],
    "publish": ["quality_gate", "serving_publication", "dashboard"],
}
# Lineage and run bookkeeping differ between any two runs; everything else must not.
PER_RUN_COLUMNS = {"run_id", "_loaded_at", "loaded_at", "load_seq", "published_at"}
COMPARED_SCHEMAS_WAREHOUSE = (
    "raw_hris",
    "raw_survey",
    "raw_finance",
    "raw_planning",
    "restricted",
    "marts",
    "survey",
    "survey_private",
    "kpi",
)


# One key for both homes: the same people get the same pseudonyms, so tables compare. Retention
# off (a window of a century): it removes people on the second run of a home, and the crashed
# home runs many times where the clean one runs once (retention has its own tests).
SETTINGS = {
    "PEOPLEMART_SECRET_KEY": "crash-test-key-crash-test-key-0001",
    "PEOPLEMART_RETRY_DELAY_SECONDS": "1",
    "PEOPLEMART_RETENTION_HR_YEARS": "100",
}


def run_to_the_end(landing: Path, home: Path, *postgres: str) -> dict:
    result = run_pipeline(landing, home, *postgres, env=SETTINGS)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return newest_report(home)


def newest_report(home: Path) -> dict:
    reports = [json.loads(p.read_text()) for p in (home / "runs").glob("*.json")]
    return max(reports, key=lambda r: r["started_at"])


def run_and_kill(landing: Path, home: Path, first_step: str, after_seconds: float) -> str:
    """Start a run in its own process group, SIGKILL the group `after_seconds` after
    `first_step` starts; return the last progress line seen."""
    process = subprocess.Popen(
        [PEOPLEMART, "run", "--landing", str(landing), "--home", str(home)]
        + ["--postgres", "embedded"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("PEOPLEMART_")} | SETTINGS,
        start_new_session=True,
    )
    lines: list[str] = []
    started = threading.Event()

    def read():
        for line in process.stdout:
            lines.append(line.rstrip())
            if line.strip() == f"▶ {first_step}":
                started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 600
    while not started.wait(timeout=0.2):
        if process.poll() is not None:
            reader.join(timeout=10)
            # A run that ends before the stage (it failed) is a finding, not a wait.
            assert started.is_set(), "\n".join(lines[-30:])
        assert time.monotonic() < deadline, "\n".join(lines[-30:])
    time.sleep(after_seconds)
    # The whole group, as an out-of-memory kill or a lost machine would: dbt with it. (The
    # embedded PostgreSQL detaches into its own session, as a real server would be elsewhere.)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    _wait_until_gone(process.pid)
    reader.join(timeout=10)
    return lines[-1] if lines else ""


def _wait_until_gone(group: int, timeout: float = 60) -> None:
    """Until every process of the killed group has exited. SIGKILL arrives at each member on its
    own: the run's leader can be reaped while dbt, killed with it, still holds the warehouse's
    file lock for a moment (a restarted run would wait on it; the checks below would fail)."""
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for member in psutil.process_iter(["status"]):
            try:
                if os.getpgid(member.pid) == group and _not_yet_gone(member):
                    alive.append(member.pid)
            except (ProcessLookupError, psutil.Error):
                continue
        if not alive:
            return
        assert time.monotonic() < deadline, f"killed processes {alive} still running"
        time.sleep(0.1)


def _not_yet_gone(member: psutil.Process) -> bool:
    """A killed process's main thread turns zombie while its other threads may still be exiting,
    holding its open files (the warehouse's lock) until the last of them has: gone only when the
    zombie is all that is left of it."""
    if member.status() != psutil.STATUS_ZOMBIE:
        return True
    try:
        return len(os.listdir(f"/proc/{member.pid}/task")) > 1
    except FileNotFoundError:
        return False


def table_checksums(database: Path, schemas: tuple[str, ...]) -> dict[str, tuple]:
    """Row count and an order-independent checksum per column of every table, per-run columns
    left out; doubles rounded, as parallel sums may differ in the last bit."""
    checksums = {}
    opened = (
        read_only(database.parent)
        if database.name == "warehouse.duckdb"
        else duckdb.connect(str(database), read_only=True)
    )
    with opened as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            f"where schema_name in ({', '.join('?' * len(schemas))}) order by all",
            list(schemas),
        ).fetchall()
        for schema, table in tables:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            parts = ["count(*)"]
            for name, kind in columns:
                if name in PER_RUN_COLUMNS:
                    continue
                value = f'round("{name}", 6)' if kind in ("DOUBLE", "FLOAT") else f'"{name}"'
                parts.append(f"sum(hash({value}))")
            checksums[f"{schema}.{table}"] = con.execute(
                f'select {", ".join(parts)} from {schema}."{table}"'
            ).fetchall()[0]
    return checksums


def assert_warehouse_whole(home: Path) -> None:
    """The warehouse opens, and every file the ledger says is loaded has all its rows."""
    warehouse = home / "warehouse.duckdb"
    if not warehouse.exists():
        return
    with duckdb.connect(str(warehouse), read_only=True) as con:
        if not con.sql(
            "select 1 from duckdb_tables() where schema_name = 'ingest' "
            "and table_name = 'file_ledger'"
        ).fetchall():
            return
        broken = con.sql(
            "select file_name, rows_read, rows_loaded, rows_quarantined from ingest.file_ledger "
            "where status <> 'duplicate' and rows_read <> rows_loaded + rows_quarantined"
        ).fetchall()
        assert broken == []
        for source, entity in con.sql(
            "select distinct source, entity from ingest.file_ledger where rows_loaded > 0"
        ).fetchall():
            loaded = con.execute(
                "select sum(rows_loaded) from ingest.file_ledger where source = ? and entity = ?",
                [source, entity],
            ).fetchall()[0][0]
            # Retention (ingestion/retention.py) logs every row it removes.
            removed = con.execute(
                "select coalesce(sum(rows_removed), 0) from ingest.retention_log "
                "where table_name = ?",
                [f"raw_{source}.{entity}"],
            ).fetchall()[0][0]
            in_raw = con.sql(f'select count(*) from raw_{source}."{entity}"').fetchall()[0][0]
            assert in_raw == loaded - removed, (source, entity, in_raw, loaded, removed)


def assert_publication_whole(home: Path, previous: dict | None) -> dict | None:
    """Readers see the last good publication, or a complete new one: never a mix, never none
    once there was one."""
    if not (home / "serving.duckdb").exists():
        assert previous is None
        return None
    state = publication_state(home)
    assert len(state["serving_run_ids"]) == 1
    assert state["postgres_run_ids"] == state["serving_run_ids"]
    [run_id] = state["serving_run_ids"]
    assert state["exports_latest"].strip() == run_id
    if previous is not None and state["serving_run_ids"] == previous["serving_run_ids"]:
        assert state == previous
    return state


def step_seconds(report: dict) -> dict[str, float]:
    return {step["step"]: step["seconds"] for step in report["steps"]}


def test_kill_9_at_ten_points_loses_nothing_and_the_next_run_equals_a_clean_one(
    small_landing, tmp_path
):
    full = tmp_path / "landing_full"
    shutil.copytree(small_landing, full)
    reference = run_to_the_end(full, tmp_path / "clean")
    seconds = step_seconds(reference)

    # The crashed home starts without the newest HR snapshot, which lands after its first
    # publication: kills during ingestion then hit real loading with a publication in place.
    landing = tmp_path / "landing"
    shutil.copytree(small_landing, landing)
    newest_snapshot = sorted((landing / "hris").iterdir())[-1]
    shutil.move(newest_snapshot, tmp_path / newest_snapshot.name)
    home = tmp_path / "home"

    rng = random.Random(20261123)
    # Ten kills, as each costs a run up to its stage and CI has twenty minutes for the whole
    # suite. Once a publication exists every stage is hit twice: once in the first half of its
    # clean-run duration and once in the second, so both early and late steps meet a kill.
    plan = [("ingestion", False, 0), ("dbt", False, 1)]
    plan += [(stage, True, half) for stage in STAGES for half in (0, 1)]
    previous = None
    killed_at = []
    for stage, after_first_publication, half in plan:
        if after_first_publication and previous is None:
            run_to_the_end(landing, home, "--postgres", "embedded")
            previous = assert_publication_whole(home, None)
            shutil.move(tmp_path / newest_snapshot.name, newest_snapshot)
        first_step = STAGES[stage][0]
        stage_seconds = sum(seconds.get(step, 0.0) for step in STAGES[stage])
        half_seconds = max(stage_seconds, 0.5) / 2
        delay = rng.uniform(half * half_seconds, (half + 1) * half_seconds)
        last_line = run_and_kill(landing, home, first_step, delay)
        killed_at.append((stage, round(delay, 2), last_line))
        assert_warehouse_whole(home)
        previous = assert_publication_whole(home, previous)

    final = run_to_the_end(landing, home, "--postgres", "embedded")
    assert final["success"], killed_at
    assert_publication_whole(home, None)
    assert table_checksums(home / "warehouse.duckdb", COMPARED_SCHEMAS_WAREHOUSE) == (
        table_checksums(tmp_path / "clean" / "warehouse.duckdb", COMPARED_SCHEMAS_WAREHOUSE)
    ), killed_at
    assert table_checksums(home / "serving.duckdb", ("marts", "survey", "kpi")) == (
        table_checksums(tmp_path / "clean" / "serving.duckdb", ("marts", "survey", "kpi"))
    ), killed_at
    stop_embedded_postgres(home)
