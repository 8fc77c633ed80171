"""The demo organisation (the generator's defaults: 2,000 employees, 5 years), run end to end:
what the issues promise to find on the demo, found by the real pipeline."""

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from bench.baselines import (
    CORE_METRICS,
    compare,
    duckdb_baseline,
    pandas_baseline,
    published_core_kpis,
)
from generator.deliveries import GeneratorConfig, generate
from tests.pipeline import kpi_json, read_only, run_pipeline

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("demo")]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("demo")
    generate(GeneratorConfig(out=root / "landing"))
    result = run_pipeline(root / "landing", root / "home")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return root / "landing", root / "home"


@pytest.fixture(scope="module")
def warehouse(demo):
    con = read_only(demo[1])
    yield con
    con.close()


def test_the_driver_analysis_finds_the_manager_effect(warehouse):
    top = warehouse.sql("""select distinct construct from marts.fct_engagement_drivers
                           where driver_rank = 1""").fetchall()
    assert top == [("manager_support",)]
    turnover = dict(
        warehouse.sql("""
            select engagement_band, sum(leavers_12_months) * 100.0 / sum(members)
            from marts.fct_engagement_turnover_by_band
            where not is_follow_up_incomplete group by 1""").fetchall()
    )
    assert turnover["low (<60)"] > turnover["medium (60-75)"] > turnover["high (75+)"]


def test_verzuim_is_realistic_and_the_monitor_lists_overdue_milestones(demo, warehouse):
    years = kpi_json(
        demo[1], "verzuim_pct", "--grain", "year", "--from", "2021-01-01", "--to", "2025-12-31"
    )
    assert len(years) == 5 and all(3 < y["verzuim_pct"] < 8 for y in years)
    overdue = warehouse.sql(
        "select count(*) from marts.rpt_poortwachter_cases where action = 'overdue'"
    ).fetchall()[0][0]
    assert overdue > 0


def test_the_reconciliation_finds_exactly_the_planted_differences(demo, warehouse):
    planted = pl.read_csv(demo[0] / ".truth" / "planted_payroll_differences.csv")
    found = warehouse.sql("""select cost_center, strftime(month_start_date, '%Y-%m')
                             from marts.fct_fte_reconciliation_monthly
                             where reconciliation_status <> 'match'""").fetchall()
    assert set(found) == set(zip(planted["cost_center"], planted["period"], strict=True))
    restated = json.loads((demo[0] / ".truth" / "restated_periods.json").read_text())
    periods = warehouse.sql(
        "select distinct period from marts.fct_finance_restatements where difference <> 0"
    ).fetchall()
    assert periods == [(restated["period"],)]


def column(warehouse, sql: str) -> set:
    return {row[0] for row in warehouse.sql(sql).fetchall()}


def test_spp_covers_every_scenario_and_family_and_starts_from_the_workforce_core(warehouse):
    projected = column(warehouse, "select job_family from marts.fct_spp_supply_projection")
    scenarios = column(warehouse, "select scenario from staging.stg_planning__demand_scenarios")
    assert projected == column(warehouse, "select job_family from marts.dim_jobs")
    gap = set(warehouse.sql("select scenario, job_family from marts.fct_spp_gap").fetchall())
    assert gap == {(s, f) for s in scenarios for f in projected}
    [(as_of,)] = warehouse.sql("select as_of_date from intermediate.int_hr_snapshots_dated"
                               ).fetchall()  # fmt: skip
    supply = warehouse.sql("select sum(fte), sum(headcount) from marts.fct_spp_supply_today"
                           ).fetchall()[0]  # fmt: skip
    core = warehouse.sql(
        "select sum(fte_at_month_end), sum(headcount_at_month_end) "
        "from marts.fct_workforce_monthly where month_start_date = ?",
        params=[dt.date(as_of.year, as_of.month, 1)],
    ).fetchall()[0]
    assert float(supply[0]) == pytest.approx(float(core[0]), abs=1e-6)
    assert supply[1] == core[1]


def test_the_published_core_kpis_equal_a_hand_written_duckdb_query_and_pandas(demo):
    """The benchmark's baselines (bench/baselines.py) share no code with the pipeline: the
    same monthly headcount, averages, leavers, turnover and verzuim per org unit, three ways."""
    landing, home = demo
    published = published_core_kpis(home / "serving.duckdb")
    by_duckdb, by_pandas = duckdb_baseline(landing), pandas_baseline(landing)
    assert set(published["metric"]) == set(CORE_METRICS)
    assert published.height > 5 * 12 * len(CORE_METRICS)
    assert compare(by_duckdb, published) == []
    assert compare(by_pandas, published) == []

    # The comparison finds a disagreement of one employee in one unit and month.
    one_off = by_duckdb.with_columns(
        pl.when(
            (pl.col("metric") == "headcount")
            & (pl.col("dimension") == "org_level_2")
            & (pl.col("month_start") == pl.col("month_start").max())
        )
        .then(pl.col("value") + 1)
        .otherwise(pl.col("value"))
        .alias("value")
    )
    units = published.filter(
        (pl.col("dimension") == "org_level_2") & (pl.col("metric") == "headcount")
    )["member"].n_unique()
    differences = compare(one_off, published, limit=1000)
    assert len(differences) == units
    assert {d["metric"] for d in differences} == {"headcount"}
