"""Publishing end to end: the quality gate, serving.duckdb, PostgreSQL with its roles, the
dashboard in a real headless Chromium, and what a crash or a reader in the middle sees."""

import datetime as dt
import json
import math
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import duckdb
import psycopg
import pytest

import bench.measure
import bench.run
from metrics.embedded_postgres import embedded_postgres, stop_embedded_postgres
from metrics.kpi_tables import build_kpi_tables
from metrics.postgres import current_version
from metrics.published import PUBLISHABLE_FILE, connect_warehouse
from orchestration.dbt_targets import RUN_RESULTS, attempts_of, new_target_folder, resume_arguments
from orchestration.project import DBT_EXECUTABLE
from quality.gate import QualityGateFailed, require_passed_gate, run_gate
from quality.privacy_scan import scan_home
from tests.e2e.publication import publication_state, serving_run_ids
from tests.pipeline import (
    PEOPLEMART,
    peoplemart,
    personal_data,
    read_only,
    run_pipeline,
    varchar_values_in,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("publish")]


MANIFEST = Path(__file__).resolve().parents[2] / "dbt_project" / "target" / "manifest.json"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def published(small_landing, tmp_path_factory):
    root = tmp_path_factory.mktemp("publish")
    landing = root / "landing"
    shutil.copytree(small_landing, landing)
    home = root / "home"
    result = peoplemart("run", "--landing", landing, "--home", home, "--postgres", "embedded")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    yield landing, home
    for pgdata in root.rglob("postgres"):
        if (pgdata / "PG_VERSION").exists():
            stop_embedded_postgres(pgdata.parent)


def copy_home(home: Path, target: Path) -> Path:
    shutil.copytree(home, target, ignore=shutil.ignore_patterns("postmaster.pid"))
    # PostgreSQL starts only on a data folder owned by the user it runs as (pgserver runs it
    # as its own user under root), with no access for others.
    owner = (home / "postgres").stat()
    for path in [target / "postgres", *(target / "postgres").rglob("*")]:
        os.chown(path, owner.st_uid, owner.st_gid)
    (target / "postgres").chmod(0o700)
    return target


def first_run_id(home: Path) -> str:
    [report] = [json.loads(p.read_text()) for p in (home / "runs").glob("*.json")]
    return report["run_id"]


# --- the dashboard and the quality report, in a real browser ---------------------------------


def kpi_value(home: Path, grain: str, metric: str, dimension: str, member, period: str):
    with duckdb.connect(str(home / "serving.duckdb"), read_only=True) as con:
        rows = con.execute(
            f"select value from kpi.metrics_{grain} where metric = ? and dimension = ? "
            "and member is not distinct from ? and period_start = ?::date",
            [metric, dimension, member, period],
        ).fetchall()
    return rows[0][0] if rows else None


def test_the_dashboard_shows_the_published_kpis_offline(published):
    from playwright.sync_api import sync_playwright

    _, home = published
    with duckdb.connect(str(home / "serving.duckdb"), read_only=True) as con:
        unit = con.sql(
            "select member from kpi.metrics_year where dimension = 'org_level_2' "
            "and metric = 'average_headcount' order by value desc limit 1"
        ).fetchall()[0][0]
    requests, errors = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto((home / "dashboard.html").as_uri())
        page.wait_for_selector("body[data-rendered]")
        sections = page.eval_on_selector_all("section", "nodes => nodes.map(n => n.id)")
        # The page's own reading of its data: every published row of a series, gaps kept.
        decoded = {
            (grain, metric, member): page.evaluate(
                "([g, m, u]) => series(g, m, u, '', '9999')", [grain, metric, member]
            )
            for grain, metric, member in [
                ("month", "headcount", None),
                ("month", "verzuim_pct", unit),
                ("year", "turnover_rate", unit),
            ]
        }
        page.select_option("#from", index=0)
        page.select_option("#unit", unit)
        page.wait_for_selector(f"body[data-rendered*='|{unit}|']")
        cells = page.eval_on_selector_all(
            "#section-turnover td[data-metric], #section-workforce td[data-metric], "
            "#section-absence td[data-metric]",
            "nodes => nodes.map(n => [n.dataset.metric, n.dataset.period, n.dataset.value])",
        )
        page.select_option("#grain", "month")
        page.select_option("#unit", "")
        page.wait_for_selector("body[data-rendered^='month||']")
        month_cells = page.eval_on_selector_all(
            "#section-workforce td[data-metric]",
            "nodes => nodes.map(n => [n.dataset.metric, n.dataset.period, n.dataset.value])",
        )
        page.goto((home / "quality" / "latest.html").as_uri())
        verdict = page.inner_text("#verdict")
        failed = page.inner_text("#suites-failed")
        suite_rows = page.eval_on_selector_all("#suites tbody tr", "nodes => nodes.length")
        dbt_cards = page.inner_text("#dbt-tests")
        browser.close()
    assert errors == []
    assert {"section-workforce", "section-turnover", "section-absence", "section-engagement",
            "section-spp"} <= set(sections)  # fmt: skip
    assert len(cells) >= 10 and len(month_cells) >= 24
    for metric, period, shown in cells:
        expected = kpi_value(home, "year", metric, "org_level_2", unit, period)
        assert (shown == "" and expected is None) or float(shown) == pytest.approx(expected)
    for metric, period, shown in month_cells:
        expected = kpi_value(home, "month", metric, "total", None, period)
        assert (shown == "" and expected is None) or float(shown) == pytest.approx(expected)
    with duckdb.connect(str(home / "serving.duckdb"), read_only=True) as con:
        for (grain, metric, member), rows in decoded.items():
            published = con.execute(
                "select strftime(period_start, '%Y-%m-%d'), member, value "
                f"from kpi.metrics_{grain} where metric = ? and member is not distinct from ? "
                "and dimension = ? order by period_start",
                [metric, member, "total" if member is None else "org_level_2"],
            ).fetchall()
            assert published and [tuple(row) for row in rows] == published, (grain, metric)
    results = json.loads((home / "quality" / first_run_id(home) / "results.json").read_text())
    assert verdict == "passed" and failed == "0" and suite_rows == len(results["suites"])
    # The report lists the data tests of the build it checks, every one of them passed or warned.
    data_tests = [n for n in json.loads(MANIFEST.read_text())["nodes"] if n.startswith("test.")]
    assert sorted(t["test"] for t in results["dbt_tests"]) == sorted(
        n.split(".")[2] for n in data_tests
    )
    assert {t["status"] for t in results["dbt_tests"]} <= {"pass", "warn"}
    assert dbt_cards == f"{len(data_tests)}"
    # The two pages themselves, read from disk; nothing else was asked of any network.
    assert set(requests) == {
        (home / "dashboard.html").as_uri(),
        (home / "quality" / "latest.html").as_uri(),
    }


def test_a_retried_build_builds_only_what_the_crashed_attempt_did_not(published, tmp_path):
    """dbt itself selects from the resume arguments: a model that crashed, what it held back
    and a failed test are built again; everything the attempt built and tested is not."""
    _, home = published
    [attempt] = attempts_of(home / "dbt", first_run_id(home))
    manifest = json.loads(MANIFEST.read_text())
    crashed = next(n for n in manifest["nodes"] if n.endswith(".fct_retention_periods"))
    held_back, frontier = set(), [crashed]
    while frontier:
        children = manifest["child_map"][frontier.pop()]
        frontier += [c for c in children if c not in held_back]
        held_back.update(children)
    failed_test = next(
        n for n in manifest["nodes"]
        if n.startswith("test.") and n not in held_back and "stg_hris__employees" in n
    )  # fmt: skip
    run_results = json.loads((attempt / RUN_RESULTS).read_text())
    statuses = {crashed: "error", failed_test: "fail"} | dict.fromkeys(held_back, "skipped")
    for result in run_results["results"]:
        result["status"] = statuses.get(result["unique_id"], result["status"])
    dbt_path = tmp_path / "dbt"
    crashed_attempt = dbt_path / "targets" / attempt.name
    crashed_attempt.mkdir(parents=True)
    (crashed_attempt / RUN_RESULTS).write_text(json.dumps(run_results))
    target = new_target_folder(dbt_path, first_run_id(home))
    shutil.copy(home / "dbt" / "partial_parse.msgpack", target / "partial_parse.msgpack")
    listed = subprocess.run(
        [DBT_EXECUTABLE, "ls", "--quiet", "--resource-type", "model", "--resource-type", "test",
         "--output", "json", "--output-keys", "unique_id", "--target-path", str(target),
         "--select", "fqn:*", *resume_arguments(dbt_path, first_run_id(home), target)],
        cwd=MANIFEST.parents[1], env=os.environ | {"PEOPLEMART_HOME": str(home)},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    selected = {json.loads(line)["unique_id"] for line in listed.stdout.splitlines() if line}
    expected = {crashed, failed_test} | {n for n in held_back if n.startswith(("model.", "test."))}
    assert selected == expected and len(selected) > 3


# --- peoplemart kpi from the published KPI tables --------------------------------------------

FAST_QUESTIONS = [
    ["headcount,average_fte,turnover_rate,verzuim_pct", "--grain", "year"],
    # A month-end figure and rates, summed from the finest cells per split (kpi_tables.py).
    ["average_fte,leavers,sick_spells,headcount,verzuim_pct", "--grain", "quarter", "--by",
     "org_level_3"],
    ["retention_rate,hires", "--grain", "year", "--by", "gender"],
    ["revenue_per_fte", "--grain", "quarter", "--by", "cost_center", "--from", "2023-01-01",
     "--to", "2023-06-30"],
    ["gap_fte,demand_fte", "--grain", "year", "--by", "scenario"],
    ["turnover_rate_rolling_12m", "--grain", "month"],
    ["headcount,hires,internal_mobility_rate", "--grain", "month", "--by", "org_level_4"],
    # Quarters and years from month cells: month-end figures at their period's last month.
    ["headcount,fte,hires,leavers", "--grain", "year", "--by", "org_level_4"],
    ["span_of_control,managers,frequent_absence_employees", "--grain", "quarter", "--by",
     "org_level_4"],
]  # fmt: skip


def test_kpi_answers_from_the_published_tables_as_metricflow_does(published):
    _, home = published
    for question in FAST_QUESTIONS:
        fast = peoplemart("kpi", *question, "--home", home, "--format", "json")
        engine = peoplemart(
            "kpi", *question, "--home", home, "--format", "json", "--source", "metricflow"
        )
        assert fast.returncode == 0 and engine.returncode == 0, fast.stderr + engine.stderr
        assert "published KPI tables" in fast.stderr and "published" not in engine.stderr
        fast_rows, engine_rows = json.loads(fast.stdout), json.loads(engine.stdout)
        assert len(fast_rows) == len(engine_rows) > 0, question
        for ours, theirs in zip(fast_rows, engine_rows, strict=True):
            assert ours.keys() == theirs.keys()
            for column, value in theirs.items():
                if isinstance(value, float | int) and value is not None:
                    assert ours[column] == pytest.approx(value, rel=1e-9, abs=1e-9), question
                else:
                    assert ours[column] == value, question


# --- PostgreSQL: roles and row-level security -------------------------------------------------


def expected_manager_rows(home: Path, root_unit: str) -> dict[str, int]:
    """Per published table, the rows a manager of root_unit may see: their subtree's."""
    with duckdb.connect(str(home / "serving.duckdb"), read_only=True) as con:
        subtree = {
            r[0]
            for r in con.execute(
                "select org_unit_id from marts.dim_org_units where ? in "
                "(org_level_1_id, org_level_2_id, org_level_3_id, org_level_4_id, "
                "org_level_5_id, org_level_6_id)",
                [root_unit],
            ).fetchall()
        }
        ids = ", ".join(f"'{unit}'" for unit in sorted(subtree))
        expected = {}
        for schema, table in con.sql(
            "select schema_name, table_name from duckdb_tables()"
        ).fetchall():
            columns = {c[0] for c in con.sql(f'describe {schema}."{table}"').fetchall()}
            source = f'{schema}."{table}"'
            if "org_unit_id" in columns:
                where = f"org_unit_id in ({ids})"
            elif "segment_key" in columns:
                where = ("segment_key in (select segment_key from marts.dim_segments "
                         f"where org_unit_id in ({ids}))")  # fmt: skip
            elif {"dimension", "member"} <= columns:
                where = f"dimension like 'org_level_%' and member in ({ids})"
            else:
                where = "false"
            expected[table] = con.sql(f"select count(*) from {source} where {where}").fetchall()[0][
                0
            ]
    return expected


def test_bi_reader_reads_only_bi_and_a_manager_sees_exactly_their_subtree(published):
    _, home = published
    with duckdb.connect(str(home / "serving.duckdb"), read_only=True) as con:
        [(division,)] = con.sql(
            "select org_unit_id from marts.dim_org_units where org_level = 2 "
            "order by org_unit_id limit 1"
        ).fetchall()
    granted = peoplemart(
        "grant-manager", "mgr_division", "--org-unit", division, "--home", home,
        "--postgres", "embedded",
    )  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    expected = expected_manager_rows(home, division)
    with embedded_postgres(home) as dsn, psycopg.connect(dsn, autocommit=True) as conn:
        version = current_version(dsn)
        conn.execute("create role reader_login login in role bi_reader")
        private = [
            f"{s}.{t}"
            for s, t in conn.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema not in ('bi', 'pg_catalog', 'information_schema')"
            ).fetchall()
        ]
        assert any(name.startswith(version) for name in private)
        assert any(name.startswith("peoplemart_access.") for name in private)
        views = [r[0] for r in conn.execute(
            "select table_name from information_schema.views where table_schema = 'bi'"
        ).fetchall()]  # fmt: skip
        assert set(views) == set(expected)
        for role in ("reader_login", "mgr_division"):
            conn.execute(f"set role {role}")
            for name in private:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(f"select 1 from {name} limit 1")
            conn.execute("reset role")
        conn.execute("set role reader_login")
        everything = {
            v: conn.execute(f'select count(*) from bi."{v}"').fetchone()[0] for v in views
        }
        conn.execute("reset role")
        conn.execute("set role mgr_division")
        seen = {v: conn.execute(f'select count(*) from bi."{v}"').fetchone()[0] for v in views}
        conn.execute("reset role")
    with duckdb.connect(str(home / "serving.duckdb"), read_only=True) as con:
        for view in views:
            [schema] = [
                r[0]
                for r in con.execute(
                    "select schema_name from duckdb_tables() where table_name = ?", [view]
                ).fetchall()
            ]
            assert (
                everything[view]
                == con.sql(f'select count(*) from {schema}."{view}"').fetchall()[0][0]
            )
    assert seen == expected
    assert 0 < seen["fct_workforce_monthly"] < everything["fct_workforce_monthly"]
    assert seen["kpi_catalog"] == 0


def test_survey_figures_under_the_threshold_are_suppressed_everywhere(published):
    _, home = published
    figures = "engagement_index, engaged_share, enps, response_rate, respondents, invited"
    leak = (
        f"select count(*) from {{}} where (is_suppressed and coalesce({figures}) is not null) "
        "or (not is_suppressed and respondents < 5)"
    )
    with duckdb.connect(str(home / "serving.duckdb"), read_only=True) as con:
        suppressed = con.sql("select count(*) from survey.engagement_results where is_suppressed")
        assert suppressed.fetchall()[0][0] > 0
        assert con.sql(leak.format("survey.engagement_results")).fetchall() == [(0,)]
        drivers = (
            "select count(*) from survey.driver_results "
            "where is_suppressed and driver_score is not null"
        )
        assert con.sql(drivers).fetchall() == [(0,)]
        exports = home / "exports" / first_run_id(home) / "survey.engagement_results.parquet"
        assert con.sql(leak.format(f"'{exports}'")).fetchall() == [(0,)]
    with embedded_postgres(home) as dsn, psycopg.connect(dsn) as conn:
        assert conn.execute(leak.format("bi.engagement_results")).fetchone() == (0,)


def test_every_constructs_driver_scores_are_published_once_per_group_flagged_as_the_group(
    published,
):
    """The driver scores are written one construct at a time: every construct is there, each
    group once per construct, and a group is suppressed exactly as its engagement figures are."""
    _, home = published
    with read_only(home) as con:
        scored = con.sql(
            "select distinct construct from survey_private.fct_survey_construct_scores"
        ).fetchall()
    with duckdb.connect(str(home / "serving.duckdb"), read_only=True) as con:
        constructs = con.sql("select distinct construct from survey.driver_results").fetchall()
        repeated = con.sql(
            "select count(*) from (select wave_id, org_unit_id, attribute, attribute_value, "
            "construct from survey.driver_results group by all having count(*) > 1)"
        ).fetchall()
        flagged_otherwise = con.sql(
            "select count(*) from survey.driver_results as d join survey.engagement_results as e "
            "on d.wave_id = e.wave_id and d.org_unit_id = e.org_unit_id "
            "and d.attribute = e.attribute "
            "and d.attribute_value is not distinct from e.attribute_value "
            "where d.is_suppressed <> e.is_suppressed"
        ).fetchall()
        shown_per_construct = dict(
            con.sql(
                "select construct, count(*) from survey.driver_results "
                "where not is_suppressed group by construct"
            ).fetchall()
        )
    assert len(scored) >= 2 and sorted(constructs) == sorted(scored)
    assert repeated == [(0,)] and flagged_otherwise == [(0,)]
    assert set(shown_per_construct) == {c for (c,) in scored}


# --- storage ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fact", ["fct_workforce_monthly", "fct_retention_periods", "fct_nulverzuim_periods"]
)
def test_the_largest_segment_facts_store_each_segments_rows_together(published, fact):
    """Their size at a million employees depends on it (the models' closing comment): as many
    runs of one segment key, in storage order, as there are segments."""
    _, home = published
    with read_only(home) as con:
        rows, segments, runs = con.sql(f"""
            select count(*), count(distinct segment_key), count(*) filter (where starts_run)
            from (
                select
                    segment_key,
                    segment_key is distinct from lag(segment_key) over (order by rowid)
                        as starts_run
                from marts.{fact}
            )""").fetchall()[0]
    assert rows > 10_000 and segments > 500
    assert runs == segments


def test_counts_are_whole_numbers_in_every_published_copy(published):
    """DuckDB sums integers as HUGEINT, which its Parquet export writes as DOUBLE and the
    PostgreSQL load as numeric: the models cast their counts (fct_workforce_monthly). Its FTE is
    a decimal of 18 digits (type_fte), 64-bit in DuckDB and Parquet, where dbt's type_numeric()
    was 128-bit and cost every copy of the workforce facts time."""
    _, home = published
    with duckdb.connect(str(home / "serving.duckdb"), read_only=True) as con:
        wide = con.sql(
            "select schema_name || '.' || table_name || '.' || column_name from duckdb_columns() "
            "where data_type = 'HUGEINT'"
        ).fetchall()
        export = home / "exports" / (home / "exports" / "LATEST").read_text().strip()
        parquet_types = dict(
            con.execute(
                "select name, type from parquet_schema(?)",
                [str(export / "marts.fct_workforce_monthly.parquet")],
            ).fetchall()
        )
    assert wide == []
    counts = ("employed_days", "hires", "leavers", "internal_moves", "transfers_in")
    assert {parquet_types[c] for c in counts} == {"INT64"}
    assert {parquet_types[c] for c in ("fte_days", "fte_at_month_end")} == {"INT64"}
    with embedded_postgres(home) as dsn, psycopg.connect(dsn) as conn:
        pg_types = dict(
            conn.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'bi' and table_name = 'fct_workforce_monthly'"
            ).fetchall()
        )
    assert {pg_types[c] for c in counts} == {"bigint"}


# --- the privacy scanner -----------------------------------------------------------------------


def test_nothing_published_holds_a_name_bsn_or_birth_date(published):
    landing, home = published
    names = {v for v in personal_data(landing) if not v.isdigit()}
    assert len(names) > 50
    with embedded_postgres(home) as dsn:
        assert scan_home(home, names, dsn) == []


def test_the_scanner_finds_planted_personal_data(published, tmp_path):
    landing, home = published
    copy = copy_home(home, tmp_path / "home")
    with read_only(copy) as con:
        key, birth = con.sql(
            "select employee_key, birth_date from restricted.stg_restricted__hris_employees limit 1"
        ).fetchall()[0]
    name = sorted(v for v in personal_data(landing) if not v.isdigit())[0]
    with duckdb.connect(str(copy / "serving.duckdb")) as con:
        con.execute(
            "create table marts.leaky as select ? as employee_key, ?::date as hire_date, "
            "? as note, '111222333' as reference",
            [key, birth, name],
        )
    (copy / "dashboard.html").write_text('<td>"123456782"</td>')
    findings = {(f.where.split("/")[-1], f.what) for f in scan_home(copy, {name})}
    assert ("serving.duckdb marts.leaky", "name in column note") in findings
    assert ("serving.duckdb marts.leaky", "BSN-like value in column reference") in findings
    assert (
        "serving.duckdb marts.leaky",
        "exact birth date in hire_date next to employee_key",
    ) in findings
    assert ("dashboard.html", "BSN-like value") in findings


# --- the quality gate blocks a bad publication ----------------------------------------------

BAD_ROWS = {
    "unique": (
        "insert into marts.dim_org_units select * from marts.dim_org_units limit 1",
        "gx_dim_org_units_grain_and_references",
    ),
    # A grain with a month column, checked by counting months as bits (quality/grain.py).
    "unique_by_month": (
        "insert into marts.fct_workforce_monthly "
        "select * from marts.fct_workforce_monthly order by all limit 1",
        "gx_fct_workforce_monthly_grain_and_references",
    ),
    "not_null": (
        "update marts.fct_exits set tenure_days = null "
        "where employment_period_key = (select min(employment_period_key) from marts.fct_exits)",
        "gx_fct_exits_grain_and_references",
    ),
    "relationship": (
        "update marts.fct_vacancies set segment_key = 'no-such-segment' "
        "where vacancy_id = (select min(vacancy_id) from marts.fct_vacancies)",
        "gx_fct_vacancies_grain_and_references",
    ),
    "range": (
        "update marts.fct_absence_monthly set sick_fte_days = sick_fte_days + 1000 "
        "where (employee_key, month_start_date) = (select (employee_key, month_start_date) "
        "from marts.fct_absence_monthly order by all limit 1)",
        "gx_rates_within_0_100",
    ),
    # One hire too many in a unit's newest month: its headcount no longer follows from the
    # month before (quality/identities.py).
    "flow_identity": (
        "update marts.fct_workforce_monthly set hires = hires + 1 "
        "where (employee_key, month_start_date) = (select (employee_key, month_start_date) "
        "from marts.fct_workforce_monthly where headcount_at_month_end = 1 "
        "order by month_start_date desc, employee_key limit 1)",
        "gx_headcount_flow_identity",
    ),
    "reconciliation": (
        "update marts.fct_fte_reconciliation_monthly set hr_average_fte = hr_average_fte + 5 "
        "where (cost_center, month_start_date) = (select (cost_center, month_start_date) "
        "from marts.fct_fte_reconciliation_monthly where hr_average_fte > 0 "
        "order by month_start_date desc, cost_center limit 1)",
        "gx_reconciliation_ties_out",
    ),
}


def gate_on_copy(home: Path, target: Path, statement: str | None):
    target.mkdir()
    for name in ("warehouse.duckdb", PUBLISHABLE_FILE, "serving.duckdb"):
        shutil.copy(home / name, target / name)
    with connect_warehouse(target / "warehouse.duckdb") as con:
        if statement:
            con.execute(statement)
        # As in a run: the KPI tables are built from the marts, then the gate checks both.
        semantic = json.loads((MANIFEST.parent / "semantic_manifest.json").read_text())
        catalog = con.sql("select * from kpi.kpi_catalog").pl()
        build_kpi_tables(con, MANIFEST.parent.parent, semantic, catalog)
    results, _ = run_gate(target, "candidate", json.loads(MANIFEST.read_text()), [])
    return {r.suite for r in results if not r.passed and r.severity == "ERROR"}


def kpi_rows(con: duckdb.DuckDBPyConnection, grain: str) -> dict[tuple, float | None]:
    rows = con.sql(
        f"select cast(metric as varchar), period_start, cast(dimension as varchar), member, value "
        f"from kpi.metrics_{grain}"
    ).fetchall()
    keyed = {tuple(row[:4]): row[4] for row in rows}
    assert len(keyed) == len(rows)
    return keyed


def same_figure(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))


def test_periods_from_a_day_on_are_computed_as_the_whole_build_computes_them(published, tmp_path):
    """A night after the first computes only the periods the frozen archive does not replace:
    each figure it writes is the one a build of every period writes, a rolling window reaching
    back before that day included."""
    _, home = published
    since = dt.date(2023, 1, 1)
    for name in ("warehouse.duckdb", PUBLISHABLE_FILE):
        shutil.copy(home / name, tmp_path / name)
    semantic = json.loads((MANIFEST.parent / "semantic_manifest.json").read_text())
    with connect_warehouse(tmp_path / "warehouse.duckdb") as con:
        catalog = con.sql("select * from kpi.kpi_catalog").pl()
        whole_build = build_kpi_tables(con, MANIFEST.parent.parent, semantic, catalog)
        assert whole_build["computed_from"] is None
        whole = {grain: kpi_rows(con, grain) for grain in ("month", "quarter", "year")}
        summary = build_kpi_tables(con, MANIFEST.parent.parent, semantic, catalog, since)
        assert summary["computed_from"] == "2023-01-01"
        part = {grain: kpi_rows(con, grain) for grain in ("month", "quarter", "year")}
    for grain, rows in whole.items():
        assert any(key[1] < since for key in rows), grain
        later = {key: value for key, value in rows.items() if key[1] >= since}
        assert part[grain].keys() == later.keys(), grain
        # Sums of the same numbers in another order may differ in the last bit.
        differing = [k for k, value in later.items() if not same_figure(part[grain][k], value)]
        assert not differing, (grain, differing[:5])
    # Windows of the first months from that day on reach into the year before it.
    rolling = [key for key in part["month"] if key[0] == "turnover_rate_rolling_12m"]
    assert min(key[1] for key in rolling) == since


def test_the_gate_passes_the_warehouse_as_built(published, tmp_path):
    _, home = published
    assert gate_on_copy(home, tmp_path / "home", None) == set()
    require_passed_gate(tmp_path / "home", "candidate")


@pytest.mark.parametrize("kind", sorted(BAD_ROWS))
def test_each_kind_of_bad_row_fails_the_gate(published, tmp_path, kind):
    _, home = published
    statement, suite = BAD_ROWS[kind]
    failed = gate_on_copy(home, tmp_path / "home", statement)
    assert suite in failed
    with pytest.raises(QualityGateFailed, match=suite):
        require_passed_gate(tmp_path / "home", "candidate")


def test_a_failed_gate_leaves_every_publication_unchanged(published, tmp_path):
    _, home = published
    copy = copy_home(home, tmp_path / "home")
    before = publication_state(copy)
    statement, suite = BAD_ROWS["reconciliation"]
    with connect_warehouse(copy / "warehouse.duckdb") as con:
        con.execute(statement)
    result = peoplemart("publish", "--home", copy, "--postgres", "embedded")
    assert result.returncode == 1
    assert suite in result.stdout
    assert publication_state(copy) == before
    [alert] = (copy / "alerts").glob("*.json")
    assert any(suite in check for check in json.loads(alert.read_text())["failed_checks"])
    # A failed data check is not a crash: nothing was tried again.
    [report] = [
        json.loads(p.read_text())
        for p in (copy / "runs").glob("*.json")
        if json.loads(p.read_text())["run_id"] == json.loads(alert.read_text())["run_id"]
    ]
    assert report["retries"] == [] and "↻" not in result.stdout
    stop_embedded_postgres(copy)


def test_publishing_a_warehouse_of_an_earlier_version_says_to_build_it_first(published, tmp_path):
    _, home = published
    copy = copy_home(home, tmp_path / "home")
    served = (copy / "serving.duckdb").read_bytes()
    runs = sorted(p.name for p in (copy / "runs").iterdir())
    # Before the publishable file, the marts were schemas of the warehouse itself.
    (copy / PUBLISHABLE_FILE).unlink()
    with duckdb.connect(str(copy / "warehouse.duckdb")) as con:
        con.execute("create schema marts")
        con.execute("create table marts.dim_org_units as select 'U1' as org_unit_id")
    result = peoplemart("publish", "--home", copy)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"no marts in {copy / PUBLISHABLE_FILE}" in result.stderr
    assert "earlier version of peoplemart" in result.stderr
    assert "`peoplemart run` (or `peoplemart build`)" in result.stderr
    # Refused before a run started: nothing written, nothing published.
    assert not (copy / PUBLISHABLE_FILE).exists()
    assert sorted(p.name for p in (copy / "runs").iterdir()) == runs
    assert (copy / "serving.duckdb").read_bytes() == served
    # The file without marts, as a writer that ran first (the catalog's) leaves it: the job
    # (the Dagster UI's way in too) stops at the metrics' first read of a mart, saying why.
    with connect_warehouse(copy / "warehouse.duckdb") as con:
        con.execute("create table kpi.kpi_catalog as select 'headcount' as metric")
    result = peoplemart("publish", "--home", copy)
    assert result.returncode == 1, result.stdout[-3000:]
    failed = [line for line in result.stdout.splitlines() if line.startswith("  failed step")]
    assert {line.split(":")[0] for line in failed} == {
        "  failed step survey_results",
        "  failed step kpi_tables",
    }, failed
    assert all(f"no marts in {copy / PUBLISHABLE_FILE}" in line for line in failed)
    # The same warehouse fails the same way again: not tried again.
    assert "↻" not in result.stdout
    assert (copy / "serving.duckdb").read_bytes() == served


def test_a_step_that_crashes_is_tried_again_and_the_run_succeeds(published, tmp_path):
    _, home = published
    copy = copy_home(home, tmp_path / "home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEOPLEMART_")}
    env["PEOPLEMART_RETRY_DELAY_SECONDS"] = "1"
    # Another process holding the warehouse's write lock: the first step that opens it crashes.
    holder = duckdb.connect(str(copy / "warehouse.duckdb"))
    process = subprocess.Popen(
        [PEOPLEMART, "publish", "--home", str(copy), "--postgres", "embedded"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    output = []
    for line in process.stdout:
        output.append(line)
        if "↻" in line:
            holder.close()
    process.wait(timeout=600)
    holder.close()
    text = "".join(output)
    assert process.returncode == 0, text[-3000:]
    [report] = [
        r
        for r in (json.loads(p.read_text()) for p in (copy / "runs").glob("*.json"))
        if r["run_id"] != first_run_id(home)
    ]
    [retry] = report["retries"]
    assert "lock" in retry["error"].lower()
    assert f"↻ {retry['step']}: crashed, trying again" in text
    assert report["success"] and not report["failures"]
    stop_embedded_postgres(copy)


# --- readers during a publish, a crash and a retry (kill -9: tests/e2e/test_crash.py) -----


def test_a_reader_during_a_publish_never_sees_two_runs(published, tmp_path):
    _, home = published
    copy = copy_home(home, tmp_path / "home")
    old_run = first_run_id(copy)
    seen_serving, seen_postgres, errors = [], [], []
    done = threading.Event()

    def poll_serving():
        while not done.is_set():
            try:
                seen_serving.append(frozenset(serving_run_ids(copy / "serving.duckdb")))
            except duckdb.Error as error:  # a reader may find the file locked, never mixed
                errors.append(str(error))
            time.sleep(0.05)

    with embedded_postgres(copy) as dsn:

        def poll_postgres():
            with psycopg.connect(dsn) as conn:
                while not done.is_set():
                    with conn.transaction():
                        conn.execute("set transaction isolation level repeatable read")
                        ids = conn.execute(
                            "select run_id from bi.kpi_catalog union select run_id from "
                            "bi.fct_workforce_monthly union select run_id from bi.metrics_month"
                        ).fetchall()
                    seen_postgres.append(frozenset(r[0] for r in ids))
                    time.sleep(0.05)

        readers = [threading.Thread(target=poll_serving), threading.Thread(target=poll_postgres)]
        for reader in readers:
            reader.start()
        result = peoplemart("publish", "--home", copy, "--postgres", "embedded")
        time.sleep(0.5)
        done.set()
        for reader in readers:
            reader.join()
    assert result.returncode == 0, result.stdout[-3000:]
    new_run = [r for r in serving_run_ids(copy / "serving.duckdb")][0]
    assert new_run != old_run
    for seen in (seen_serving, seen_postgres):
        assert all(len(ids) == 1 for ids in seen)
        assert seen[0] == {old_run} and seen[-1] == {new_run}
    stop_embedded_postgres(copy)


# --- AVG retention across every layer --------------------------------------------------------


def ended_before(warehouse: Path, day: str) -> set[str]:
    """People whose every contract in the current snapshot ended before `day`."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            r[0]
            for r in con.execute(
                "select employee_id from current_hris.contracts group by employee_id "
                "having count(*) = count(valid_to) and max(valid_to) < ?",
                [day],
            ).fetchall()
        }


def parquet_hits(exports: Path, needles: set[str]) -> list[str]:
    hits = []
    with duckdb.connect() as con:
        for path in exports.glob("*/*.parquet"):
            columns = [c[0] for c in con.sql(f"select * from '{path}' limit 0").description]
            for column in columns:
                found = con.execute(
                    f"select count(*) from '{path}' where cast(\"{column}\" as varchar) "
                    "in (select unnest(?))",
                    [sorted(needles)],
                ).fetchall()[0][0]
                if found:
                    hits.append(f"{path.parent.name}/{path.name}:{column}")
    return hits


def postgres_hits(home: Path, needles: set[str]) -> list[str]:
    hits = []
    with embedded_postgres(home) as dsn, psycopg.connect(dsn) as conn:
        columns = conn.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema like 'pm\\_%' and data_type = 'text'"
        ).fetchall()
        for schema, table, column in columns:
            found = conn.execute(
                f'select count(*) from {schema}."{table}" where "{column}" = any(%s)',
                [sorted(needles)],
            ).fetchall()[0][0]
            if found:
                hits.append(f"{schema}.{table}.{column}")
    return hits


def test_people_past_their_window_leave_every_layer_and_the_closed_figures_stay(
    published, tmp_path
):
    landing, home = published
    copy = copy_home(home, tmp_path / "home")
    # The first run froze the KPI periods before 2022-03-01 (HR window 2 years from the snapshot
    # of 2023-12-31, plus three months). With a window of one year, everyone who left before
    # then is past it and their periods are frozen: this run removes them.
    past = ended_before(copy / "warehouse.duckdb", "2022-03-01")
    assert past, "the small organisation has leavers in January and February 2022"
    with duckdb.connect(str(copy / "serving.duckdb"), read_only=True) as con:
        frozen_before = con.sql(
            "select * exclude (run_id) from kpi.metrics_month "
            "where period_start < '2022-03-01' order by all"
        ).fetchall()
    result = run_pipeline(
        landing, copy, "--postgres", "embedded", env={"PEOPLEMART_RETENTION_HR_YEARS": "1"}
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert f"retention (as of 2023-12-31): {len(past)} people past their window" in result.stdout
    # The first night computed every KPI period; this one those from the year of the boundary.
    reports = sorted((json.loads(p.read_text()) for p in (copy / "runs").glob("*.json")),
                     key=lambda r: r["started_at"])  # fmt: skip
    assert [r["kpi_periods_computed_from"] for r in reports] == ["every period", "2022-01-01"]
    report = max(
        (json.loads(p.read_text()) for p in (copy / "retention").glob("*.json")),
        key=lambda r: len(r["rows_removed"]),
    )
    assert report["people_removed"] == len(past) and report["rows_removed"]["raw_hris.employees"]
    assert not any(key in json.dumps(report) for key in past)
    # Gone from the warehouse (raw, restricted, quarantine, marts, ...), the publication, the
    # rollback copy, every Parquet export and every PostgreSQL version.
    assert varchar_values_in(copy / "warehouse.duckdb", past) == []
    assert varchar_values_in(copy / "serving.duckdb", past) == []
    assert varchar_values_in(copy / "serving.previous.duckdb", past) == []
    assert parquet_hits(copy / "exports", past) == []
    assert postgres_hits(copy, past) == []
    for page in [copy / "dashboard.html", *(copy / "dashboards").glob("*.html")]:
        assert not any(key in page.read_text() for key in past), page
    assert not (copy / "retention" / "pending_keys.json").exists()
    # The aggregates they counted in are the ones first published.
    with duckdb.connect(str(copy / "serving.duckdb"), read_only=True) as con:
        assert (
            con.sql(
                "select * exclude (run_id) from kpi.metrics_month "
                "where period_start < '2022-03-01' order by all"
            ).fetchall()
            == frozen_before
        )
    stop_embedded_postgres(copy)


# --- the benchmark's publication on a built warehouse --------------------------------------------


def test_the_benchmark_measures_a_publication_on_a_built_warehouse(
    published, tmp_path, monkeypatch
):
    """`peoplemart bench --publish HOME` (a million employees' night is measured in two
    sessions): one real `peoplemart publish`, timed per stage; no ingestion, no dbt."""
    _, home = published
    copy = copy_home(home, tmp_path / "home")
    monkeypatch.setattr(bench.measure, "RESULTS", tmp_path / "results")
    bench.run.main(["--employees", "120", "--years", "2", "--publish", str(copy)])
    [result] = json.loads((tmp_path / "results" / "publication.json").read_text())["results"]
    [stage] = result["stages"]
    steps = [step["step"] for step in stage["extra"]["steps"]]
    assert {"survey_results", "kpi_tables", "quality_gate", "serving_publication",
            "dashboard"} <= set(steps)  # fmt: skip
    assert not {"raw_extracts", "warehouse_models"} & set(steps)
    assert [part["stage"] for part in stage["extra"]["stages"]] == [
        "metrics", "publishing", bench.run.START_UP
    ]  # fmt: skip
    assert stage["extra"]["dbt_model_seconds_by_area"] == {} and stage["peak_rss_mb"] > 100
    # The night's process computes: each step of a second or more kept some core busy, and no
    # step more than the machine's cores.
    timed = [s for s in stage["extra"]["steps"] if s["seconds"] >= 1]
    assert timed and all(0.2 < s["cores_busy"] <= os.cpu_count() + 0.1 for s in timed)
    assert 0.2 < stage["cores_busy"] <= os.cpu_count() + 0.1
    with duckdb.connect(str(copy / "serving.duckdb"), read_only=True) as con:
        [(run_id,)] = con.sql("select distinct run_id from kpi.kpi_catalog").fetchall()
    assert run_id != first_run_id(home)
    page = (tmp_path / "results" / "publication.md").read_text()
    assert "| 120 | publication (DuckDB limit 2.8GB) |" in page
