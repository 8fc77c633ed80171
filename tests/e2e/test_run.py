"""`peoplemart run` end to end: real Dagster, dbt and DuckDB file, on generated deliveries."""

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import duckdb
import polars as pl
import pytest

from metrics.embedded_postgres import embedded_postgres
from metrics.postgres import copy_to_postgres
from metrics.published import connect_warehouse
from orchestration.dbt_targets import DONE_STATUSES, RUN_RESULTS, finished_attempts, run_of
from orchestration.project import DBT_PROJECT_DIR
from tests.dbt.identities import unit_headcount_identity_breaks
from tests.pipeline import (
    kpi,
    kpi_json,
    personal_data,
    read_only,
    run_pipeline,
    varchar_values_in,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def first_run(small_landing, tmp_path_factory):
    landing = tmp_path_factory.mktemp("e2e") / "landing"
    shutil.copytree(small_landing, landing)
    home = landing.parent / "home"
    result = run_pipeline(landing, home)
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
    by_path = {p.relative_to(landing).as_posix(): p for p in landed}
    for file in report["files"]:
        assert file["rows_read"] == file["rows_loaded"] + file["rows_quarantined"]
        path = by_path[f"{file['source']}/{file['delivery_id']}/{file['file_name']}"]
        assert file["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert report["success"] and report["checks"]
    assert all(c["passed"] for c in report["checks"])
    assert {s["step"] for s in report["steps"]} >= {"raw_extracts", "warehouse_models"}
    # Sized by the night: a small organisation's extracts get the default bound.
    assert (report["duckdb_memory_limit"], report["dbt_threads"]) == ("2.8GB", "2")
    assert "(DuckDB memory bound 2.8GB, dbt threads 2)" in result.stdout


def test_the_first_nights_build_finds_the_project_parsed_during_ingestion(first_run):
    """A new home has no dbt parse state: the ingestion step parsed the project beside the load,
    so the build parses nothing again, and no parse folder is left behind."""
    _, home, _ = first_run
    [attempt] = finished_attempts(home / "dbt")
    log = (attempt / "dbt.log").read_text()
    assert "Nothing changed, skipping partial parsing." in log
    assert "Starting full parse" not in log and "Unable to do partial parsing" not in log
    assert not list((home / "dbt").glob("parse-ahead-*"))


def test_the_gates_library_is_imported_while_dbt_starts(first_run):
    """Great Expectations (about 3 s to import) is imported in the dbt step after dbt's process
    started and before its first model finished, where this process only waits; the gate then
    finds it imported."""
    import dagster as dg

    from orchestration.defs.transform.assets import IMPORTED_AHEAD

    _, home, _ = first_run
    [report] = [json.loads(p.read_text()) for p in (home / "runs").glob("*.json")]
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        logs = [
            (log.dagster_event.event_type_value if log.is_dagster_event else log.user_message)
            for log in instance.all_logs(report["run_id"])
            if log.step_key == "warehouse_models"
        ]
    started = next(i for i, m in enumerate(logs) if m.startswith("Running dbt command"))
    imported = next(i for i, m in enumerate(logs) if m.startswith(IMPORTED_AHEAD))
    first_model = logs.index("ASSET_MATERIALIZATION")
    assert started < imported < first_model


def test_no_name_or_bsn_reaches_any_table_or_file(first_run):
    landing, home, _ = first_run
    needles = personal_data(landing)
    assert len(needles) > 100
    assert varchar_values_in(home / "warehouse.duckdb", needles) == []
    key = (home / "secrets" / "pseudonymisation.key").read_text().strip()
    assert varchar_values_in(home / "warehouse.duckdb", {key}) == []
    assert varchar_values_in(home / "serving.duckdb", needles | {key}) == []
    written = [p for p in home.rglob("*") if p.is_file() and p.suffix in (".json", ".log")]
    for path in written:
        text = path.read_text(errors="ignore")
        assert not any(n in text for n in needles if len(n) > 6), path


def test_the_publication_holds_this_run_and_only_publishable_data(first_run):
    _, home, _ = first_run
    [report] = [json.loads(p.read_text()) for p in (home / "runs").glob("*.json")]
    with duckdb.connect(str(home / "serving.duckdb"), read_only=True) as con:
        schemas = {r[0] for r in con.sql("select schema_name from duckdb_tables()").fetchall()}
        run_ids = con.sql("""select distinct run_id from marts.fct_workforce_monthly
                             union select distinct run_id from survey.engagement_results
                             union select distinct run_id from kpi.kpi_catalog""").fetchall()
        birth_dates = con.sql("""select count(*) from duckdb_columns()
                                 where column_name in ('birth_date', 'bsn', 'full_name')""")
        assert birth_dates.fetchall() == [(0,)]
    assert schemas == {"marts", "survey", "kpi"}
    assert run_ids == [(report["run_id"],)]
    exports = home / "exports" / report["run_id"]
    assert (exports / "marts.fct_workforce_monthly.parquet").exists()


def test_staging_serves_the_current_snapshot_with_pseudonymised_keys(first_run):
    landing, home, _ = first_run
    newest = sorted((landing / "hris").iterdir())[-1]
    delivered = pl.read_csv(
        newest / "employees.csv", separator=";", infer_schema=False, encoding="utf8-lossy"
    )
    with read_only(home) as con:
        staged = con.sql("select employee_key from staging.stg_hris__employees").fetchall()
        births = con.sql("select count(*) from restricted.stg_restricted__hris_employees")
        assert births.fetchall()[0][0] == delivered.height
    assert len(staged) == delivered.height
    assert not {k for (k,) in staged} & set(delivered["personeelsnummer"])


NAMED_METRICS = [
    "headcount", "fte", "average_headcount", "average_fte", "hires", "leavers",
    "voluntary_leavers", "regretted_leavers", "turnover_rate", "voluntary_turnover_rate",
    "regretted_turnover_rate", "retention_rate", "internal_mobility_rate", "internal_fill_rate",
    "time_to_fill_median", "verzuim_pct", "meldingsfrequentie", "verzuimduur_avg",
    "nulverzuim_pct", "sick_spells", "poortwachter_compliance_pct",
]  # fmt: skip
# Finance rows carry a cost center and the org unit finance maps it to, no people attributes.
FINANCE_METRICS = [
    "revenue", "revenue_per_fte", "personnel_cost_per_fte", "human_capital_roi",
    "fte_difference", "reconciliation_mismatches",
]  # fmt: skip
SEGMENT_DIMENSIONS = [
    "org_unit", "job_family", "contract_type", "gender", "age_band", "tenure_band",
    "cost_center", "manager",
]  # fmt: skip
EXIT_DIMENSIONS = ["initiative", "reason_code"]
LEAVER_METRICS = ["leavers", "voluntary_leavers", "regretted_leavers"]
YEARS = ("--from", "2022-01-01", "--to", "2023-12-31", "--grain", "year")
ADDITIVE = [
    "headcount", "hires", "leavers", "voluntary_leavers", "regretted_leavers", "sick_spells",
]  # fmt: skip


def totals_by_year(rows: list[dict], metric: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for row in rows:
        totals[row["year"]] = totals.get(row["year"], 0) + (row[metric] or 0)
    return totals


@pytest.fixture(scope="module")
def overall(first_run) -> list[dict]:
    return kpi_json(first_run[1], NAMED_METRICS + FINANCE_METRICS, *YEARS)


def test_kpi_answers_every_named_metric_for_the_whole_organisation(overall):
    assert [row["year"] for row in overall] == ["2022-01-01", "2023-01-01"]
    for row in overall:
        assert all(row[metric] is not None for metric in NAMED_METRICS + FINANCE_METRICS), row
        assert 5 < row["turnover_rate"] < 25 and 70 < row["retention_rate"] < 98
        assert row["voluntary_turnover_rate"] <= row["turnover_rate"]
        assert 3 < row["verzuim_pct"] < 8 and 50 < row["poortwachter_compliance_pct"] <= 100


def test_the_poortwachter_monitor_finds_overdue_milestones(first_run):
    with read_only(first_run[1]) as con:
        statuses = dict(
            con.sql("select milestone_status, count(*) from marts.fct_poortwachter_milestones "
                    "group by 1").fetchall()
        )  # fmt: skip
        listed = con.sql("""
            select cases.action, milestones.milestone_status, milestones.is_case_open,
                   milestones.due_date <= cases.as_of_date + 14
            from marts.rpt_poortwachter_cases as cases
            join marts.fct_poortwachter_milestones as milestones using (case_key, milestone)
            """).fetchall()
    assert statuses["on_time"] > statuses["late"] > 0 and statuses["overdue"] > 0
    assert listed and all(
        is_open
        and (status == action or (action == "upcoming" and status == "not_yet_due" and soon))
        for action, status, is_open, soon in listed
    )


@pytest.mark.parametrize("dimension", SEGMENT_DIMENSIONS)
def test_kpi_answers_every_named_metric_by_every_segment_dimension(first_run, overall, dimension):
    finance = FINANCE_METRICS if dimension in ("org_unit", "cost_center") else []
    rows = kpi_json(first_run[1], NAMED_METRICS + finance, *YEARS, "--by", dimension)
    assert len({row[dimension] for row in rows}) > 1
    for metric in NAMED_METRICS + finance:
        assert any(row[metric] is not None for row in rows), metric
    # Every person is in exactly one group on a day, so the groups add up to the whole.
    for metric in ADDITIVE:
        assert totals_by_year(rows, metric) == pytest.approx(totals_by_year(overall, metric))


@pytest.mark.parametrize("dimension", EXIT_DIMENSIONS)
def test_kpi_splits_leavers_by_exit_attributes_and_refuses_the_rest(first_run, overall, dimension):
    rows = kpi_json(first_run[1], LEAVER_METRICS, *YEARS, "--by", dimension)
    for metric in LEAVER_METRICS:
        assert totals_by_year(rows, metric) == pytest.approx(totals_by_year(overall, metric))
    refused = kpi(first_run[1], ["leavers", "retention_rate"], *YEARS, "--by", dimension)
    assert refused.returncode == 2
    assert f"--by {dimension}" in refused.stderr and "retention_rate cannot be split" in (
        refused.stderr
    )


def test_kpi_refuses_to_split_finance_by_people_attributes(first_run):
    refused = kpi(first_run[1], ["revenue_per_fte"], *YEARS, "--by", "gender")
    assert refused.returncode == 2 and "revenue_per_fte cannot be split" in refused.stderr
    rolled_up = kpi_json(first_run[1], ["revenue_per_fte"], *YEARS, "--by", "org_level_2")
    assert any(row["revenue_per_fte"] for row in rolled_up)


def test_kpi_formats_carry_the_same_numbers(first_run):
    home = first_run[1]
    as_json = kpi_json(home, ["headcount", "turnover_rate"], *YEARS, "--by", "gender")
    as_csv = kpi(home, ["headcount", "turnover_rate"], *YEARS, "--by", "gender", "--format", "csv")
    csv_rows = pl.read_csv(as_csv.stdout.encode()).to_dicts()
    assert [(r["year"], r["gender"], r["headcount"]) for r in csv_rows] == [
        (r["year"], r["gender"], r["headcount"]) for r in as_json
    ]
    table = kpi(home, ["headcount", "turnover_rate"], *YEARS, "--by", "gender")
    assert table.returncode == 0
    assert "headcount" in table.stdout and str(as_json[0]["headcount"]) in table.stdout


def test_a_rolled_up_parent_equals_the_sum_of_its_children(first_run):
    home = first_run[1]
    with read_only(home) as con:
        parent_of = dict(
            con.sql("select org_unit_id, org_level_2_id from marts.dim_org_units").fetchall()
        )
    metrics = ["headcount", "hires", "leavers", "average_headcount"]
    by_unit = kpi_json(home, metrics, *YEARS, "--by", "org_unit")
    by_parent = kpi_json(home, metrics, *YEARS, "--by", "org_level_2")
    summed: dict[tuple, float] = {}
    for row in by_unit:
        key = (row["year"], parent_of[row["org_unit"]])
        for metric in metrics:
            summed[key + (metric,)] = summed.get(key + (metric,), 0) + (row[metric] or 0)
    assert len(by_parent) > 2
    for row in by_parent:
        for metric in metrics:
            expected = summed[(row["year"], row["org_level_2"], metric)]
            assert (row[metric] or 0) == pytest.approx(expected, abs=1e-6), (row, metric)


def test_every_unit_moves_only_by_hires_leavers_and_transfers(first_run):
    with read_only(first_run[1]) as con:
        assert con.sql("select sum(transfers_in) from marts.fct_workforce_monthly").fetchall()[0][0]
        assert unit_headcount_identity_breaks(con) == []


def test_the_reconciliation_finds_exactly_the_planted_differences(first_run):
    landing, home, _ = first_run
    planted = pl.read_csv(landing / ".truth" / "planted_payroll_differences.csv")
    with read_only(home) as con:
        found = con.sql("""
            select cost_center, strftime(month_start_date, '%Y-%m')
            from marts.fct_fte_reconciliation_monthly
            where reconciliation_status <> 'match'""").fetchall()
    assert set(found) == set(zip(planted["cost_center"], planted["period"], strict=True))


def test_reconciliation_and_finance_totals_tie_out_to_their_sources(first_run):
    with read_only(first_run[1]) as con:
        hr = con.sql("""
            select recon.month_start_date, recon.fte, core.fte
            from (select month_start_date, sum(hr_average_fte) as fte
                  from marts.fct_fte_reconciliation_monthly group by 1) as recon
            join (select month_start_date, sum(fte_days) / any_value(
                         date_diff('day', month_start_date, last_day(month_start_date)) + 1) as fte
                  from marts.fct_workforce_monthly group by 1) as core using (month_start_date)
            """).fetchall()
        assert len(hr) >= 12
        for month, reconciled, core in hr:
            assert float(reconciled) == pytest.approx(float(core), abs=1e-4), month
        paid = con.sql("""select (select sum(payroll_paid_fte) from
                                  marts.fct_fte_reconciliation_monthly),
                                 (select sum(paid_fte) from staging.stg_finance__payroll_summaries)
                       """).fetchall()[0]
        assert paid[0] == pytest.approx(paid[1], abs=1e-9)
        revenue = con.sql("""select (select sum(revenue) from marts.fct_finance_monthly),
                                    (select sum(amount) from staging.stg_finance__gl_entries
                                     where account_class = 'revenue')""").fetchall()[0]
        assert revenue[0] == revenue[1] and revenue[0] > 0  # decimals: to the cent


def test_the_same_dbt_project_builds_the_same_marts_on_postgresql(first_run, tmp_path):
    """DuckDB is the warehouse of one machine; an organisation that outgrows it runs the same
    dbt project elsewhere. The sources of this run, copied to PostgreSQL, build there with every
    dbt test passing, into marts equal row for row to DuckDB's."""
    _, home, _ = first_run
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    sources = sorted({(s["schema"], s["identifier"]) for s in manifest["sources"].values()})
    import psycopg

    with embedded_postgres(tmp_path) as server_dsn:
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute("create database peoplemart")
        dsn = urlparse(server_dsn)._replace(path="/peoplemart").geturl()
        with (
            psycopg.connect(dsn) as conn,
            read_only(home) as duck,
            conn.cursor() as cur,
        ):
            for schema, table in sources:
                cur.execute(f'create schema if not exists "{schema}"')
                copy_to_postgres(duck, cur, schema, table, schema)
        address = urlparse(dsn)
        dbt = str(Path(sys.executable).parent / "dbt")
        target = ["--target", "postgres", "--target-path", str(tmp_path / "target")]
        build = subprocess.run(
            [dbt, "build", "--profiles-dir", ".", *target],
            cwd=DBT_PROJECT_DIR,
            capture_output=True,
            text=True,
            env=os.environ
            | {
                "PEOPLEMART_DBT_PG_HOST": parse_qs(address.query)["host"][0],
                "PEOPLEMART_DBT_PG_PORT": str(address.port or 5432),
                "PEOPLEMART_DBT_PG_USER": address.username or "postgres",
                "DBT_LOG_PATH": str(tmp_path / "logs"),
            },
        )
        assert build.returncode == 0, build.stdout[-6000:]
        assert " ERROR=0 SKIP=0 " in build.stdout, build.stdout[-2000:]
        with psycopg.connect(dsn) as conn:
            assert_marts_equal(home, lambda table, query: conn.execute(query).fetchall())


@pytest.mark.spark
def test_the_same_dbt_project_builds_the_same_marts_on_spark(first_run, tmp_path):
    """The same on Spark (pyspark in local mode: the engine an HR service provider would run on
    a cluster): the run's sources as Spark tables, every dbt node passing, marts equal to
    DuckDB's row for row. Needs Java (17+) and the `spark` dependency group."""
    if shutil.which("java") is None:
        pytest.fail("Spark needs a Java runtime (17 or later) on PATH")
    _, home, _ = first_run
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    sources = tmp_path / "sources"
    sources.mkdir()
    with read_only(home) as duck:
        for schema, table in sorted(
            {(s["schema"], s["identifier"]) for s in manifest["sources"].values()}
        ):
            duck.execute(
                f'copy (select * from {schema}."{table}") '
                f"to '{sources / f'{schema}.{table}.parquet'}' (format parquet)"
            )
    work, marts = tmp_path / "spark", tmp_path / "marts"
    work.mkdir()
    build = subprocess.run(
        [sys.executable, "-m", "tests.e2e.spark_build", sources, tmp_path / "target", marts],
        cwd=work,
        capture_output=True,
        text=True,
        env=os.environ
        | {"PYTHONPATH": str(Path(__file__).resolve().parents[2]), "DO_NOT_TRACK": "1"},
    )
    assert build.returncode == 0, build.stdout[-6000:] + build.stderr[-3000:]
    assert " ERROR=0 SKIP=0 " in build.stdout, build.stdout[-2000:]
    assert_marts_equal(
        home,
        lambda table, query: duckdb.sql(
            query.replace(f'marts."{table}"', f"read_parquet('{marts / table}/*.parquet')")
        ).fetchall(),
    )


def assert_marts_equal(home: Path, rows_elsewhere) -> None:
    """Every mart of the DuckDB warehouse has the same rows elsewhere: `rows_elsewhere(table,
    query)` runs the same select of the mart's columns on the other engine."""
    with read_only(home) as duck:
        marts = duck.sql(
            "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
        ).fetchall()
        assert len(marts) > 25
        for (table,) in marts:
            columns = ", ".join(
                f'"{name}"'
                for (name,) in duck.execute(
                    "select column_name from duckdb_columns() where schema_name = 'marts' "
                    "and table_name = ? order by column_index",
                    [table],
                ).fetchall()
            )
            query = f'select {columns} from marts."{table}"'
            on_duckdb = comparable(duck.execute(query).fetchall())
            elsewhere = comparable(rows_elsewhere(table, query))
            assert len(on_duckdb) == len(elsewhere), table
            differing = [
                (a, b) for a, b in zip(on_duckdb, elsewhere, strict=True) if not same(a, b)
            ]
            assert differing == [], (table, differing[:3])


def comparable(rows: list[tuple]) -> list[tuple]:
    """Rows in one order; numbers as floats (numeric on PostgreSQL is double on DuckDB), sorted
    as rounded, since sums may differ in the last bit."""
    rows = [tuple(float(v) if isinstance(v, Decimal) else v for v in row) for row in rows]

    def key(row):
        return tuple((v is None, f"{v:.9g}" if isinstance(v, float) else str(v)) for v in row)

    return sorted(rows, key=key)


def same(a: tuple, b: tuple) -> bool:
    return all(
        math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12) if isinstance(x, float) else x == y
        for x, y in zip(a, b, strict=True)
    )


HELD_SOURCE = "raw_planning.demand_scenarios"


def hold_source(warehouse: Path) -> None:
    """The source table behind a view that errors when read, as a table another process is
    rewriting would: the models reading it error, the rest of the build goes on."""
    schema, table = HELD_SOURCE.split(".")
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"alter table {HELD_SOURCE} rename to {table}__held")
        con.execute(
            f"create view {HELD_SOURCE} as select * from {schema}.{table}__held "
            f"where error('{HELD_SOURCE} is held by the test') is null"
        )


def release_source(warehouse: Path, deadline: float) -> None:
    """Put the table back as soon as the failed dbt attempt lets go of the warehouse."""
    schema, table = HELD_SOURCE.split(".")
    while True:
        try:
            con = duckdb.connect(str(warehouse))
        except duckdb.IOException:
            assert time.monotonic() < deadline, "the failed dbt attempt kept the warehouse"
            time.sleep(0.1)
            continue
        with con:
            con.execute(f"drop view {HELD_SOURCE}")
            con.execute(f"alter table {schema}.{table}__held rename to {table}")
        return


def attempts_since(home: Path, before: set[Path]) -> list[Path]:
    return [p for p in finished_attempts(home / "dbt") if p not in before]


def node_statuses(attempt: Path) -> dict[str, str]:
    results = json.loads((attempt / RUN_RESULTS).read_text())["results"]
    return {r["unique_id"]: r["status"] for r in results}


def test_a_dbt_build_that_errors_is_retried_from_where_it_stopped(first_run):
    """A second night loads nothing new. Its dbt build meets a source it cannot read: the step is
    retried, and the retry builds exactly what the first attempt did not (the erroring models,
    their tests and everything skipped below them), not the whole warehouse again."""
    landing, home, _ = first_run
    before = set((home / "dbt" / "targets").iterdir())
    # The night's first attempt starts the publishable file anew (what the publication copies
    # holds nothing of an earlier night); the retry resumes in the file the attempt built.
    with connect_warehouse(home / "warehouse.duckdb") as con:
        con.execute("create table marts.left_by_an_earlier_night as select 1 as n")
    hold_source(home / "warehouse.duckdb")
    released = threading.Event()

    def release_after_the_first_attempt():
        deadline = time.monotonic() + 600
        while not attempts_since(home, before):
            if time.monotonic() > deadline:
                return
            time.sleep(0.1)
        release_source(home / "warehouse.duckdb", time.monotonic() + 60)
        released.set()

    releaser = threading.Thread(target=release_after_the_first_attempt, daemon=True)
    releaser.start()
    # Long enough for the release, which needs the warehouse the failed attempt just let go.
    again = run_pipeline(landing, home, env={"PEOPLEMART_RETRY_DELAY_SECONDS": "15"})
    releaser.join(timeout=60)
    assert released.is_set()
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-2000:]

    first, second = attempts_since(home, before)
    first_statuses, second_statuses = node_statuses(first), node_statuses(second)
    # Staging models are views: the first statement to read the source is a test of the view.
    errored = [node for node, status in first_statuses.items() if status == "error"]
    assert errored and all("stg_planning__demand_scenarios" in node for node in errored)
    left_over = {n for n, status in first_statuses.items() if status not in DONE_STATUSES}
    assert first_statuses["model.peoplemart.fct_spp_gap"] == "skipped"
    assert set(second_statuses) == left_over
    assert set(second_statuses.values()) <= set(DONE_STATUSES)
    assert len(second_statuses) < len(first_statuses) / 4
    [report] = [r for r in reports(home) if r["run_id"] == run_of(first)]
    assert report["success"] and sum(f["rows_loaded"] for f in report["files"]) == 0
    assert {"warehouse_models"} <= {s["step"] for s in report["steps"]}
    marker = "select count(*) from duckdb_tables() where table_name = 'left_by_an_earlier_night'"
    with read_only(home) as con:
        assert con.sql(marker).fetchall() == [(0,)]
    with duckdb.connect(str(home / "serving.duckdb"), read_only=True) as con:
        assert con.sql(marker).fetchall() == [(0,)]
    # The run report says why the step was retried, in the database's words.
    [retry] = report["retries"]
    assert retry["step"] == "warehouse_models"
    assert f"{HELD_SOURCE} is held by the test in " in retry["error"], retry["error"]


def reports(home: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in (home / "runs").glob("*.json")]


def test_a_damaged_delivery_is_reported_and_holds_the_publication_back(first_run):
    landing, home, _ = first_run
    delivery = landing / "hris" / "20991231T000000"
    source = sorted((landing / "hris").iterdir())[-2]
    shutil.copytree(source, delivery)
    (delivery / "manifest.json").unlink()
    data = (delivery / "terminations.csv").read_bytes()
    (delivery / "terminations.csv").write_bytes(data[: len(data) // 2])
    published_before = serving_run_ids(home)
    damaged = run_pipeline(landing, home)
    assert "hris/20991231T000000/terminations.csv" in damaged.stdout
    # A snapshot dated 2099 moves the history window to 2090-2099: nearly every fact would vanish.
    # The quality gate holds the publication back instead of publishing an empty warehouse.
    assert damaged.returncode == 1
    assert "gx_volumes_against_previous_run" in damaged.stdout
    assert serving_run_ids(home) == published_before


def serving_run_ids(home: Path) -> set[str]:
    with duckdb.connect(str(home / "serving.duckdb"), read_only=True) as con:
        return {r[0] for r in con.sql("select distinct run_id from kpi.kpi_catalog").fetchall()}


def test_a_missing_landing_folder_is_a_clear_error(tmp_path):
    result = run_pipeline(tmp_path / "nope", tmp_path / "home")
    assert result.returncode == 2
    assert "does not exist" in result.stderr
