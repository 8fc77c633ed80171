"""Closed KPI periods stay as first published when retention removes the people in them."""

import copy
import datetime as dt
import json

import duckdb

from metrics.catalog import PROJECT_ROOT, build_catalog
from metrics.kpi_tables import (
    FROZEN_METRICS,
    freeze_closed_periods,
    frozen_periods_reused_before,
    metric_groups,
)
from metrics.query import GRAINS

MANIFEST = json.loads(
    (PROJECT_ROOT / "dbt_project" / "target" / "semantic_manifest.json").read_text()
)
HORIZON = dt.date(2021, 12, 31)  # HR window: employment that ended before this day is removed
# Frozen: periods starting before 2021-12-01 + 3 months; rolling figures a year later.
MONTHS = [dt.date(2021, m, 1) for m in (11, 12)] + [dt.date(2022, m, 1) for m in (2, 3, 4)]
ROLLING_MONTHS = [dt.date(2023, 2, 1), dt.date(2023, 3, 1)]


def build(con: duckdb.DuckDBPyConnection, value: float) -> None:
    """KPI tables as a run computes them: every figure `value`."""
    con.execute("create schema if not exists kpi")
    for grain in GRAINS:
        con.execute(
            f"create or replace table kpi.metrics_{grain} (metric varchar, period_start date, "
            "dimension varchar, member varchar, value double)"
        )
    rows = [("headcount", m, "total", None, value) for m in MONTHS]
    rows += [("headcount", m, "org_level_2", "A", value / 2) for m in MONTHS]
    rows += [("turnover_rate_rolling_12m", m, "total", None, value) for m in ROLLING_MONTHS]
    con.executemany("insert into kpi.metrics_month values (?, ?, ?, ?, ?)", rows)
    con.execute(
        "insert into kpi.metrics_year values ('headcount', '2022-01-01', 'total', null, ?), "
        "('headcount', '2023-01-01', 'total', null, ?)",
        [value, value],
    )


def published(con, grain: str = "month") -> dict:
    return {
        (m, str(p), d, member): v
        for m, p, d, member, v in con.sql(f"select * from kpi.metrics_{grain}").fetchall()
    }


def test_periods_before_the_horizon_keep_their_first_published_figures():
    con = duckdb.connect()
    build(con, 100.0)
    first = freeze_closed_periods(con, HORIZON, MANIFEST)
    assert first["frozen_before"] == "2022-03-01"
    # The next run computes without the people retention removed: fewer heads everywhere.
    build(con, 90.0)
    freeze_closed_periods(con, HORIZON, MANIFEST)
    month = published(con)
    assert month[("headcount", "2021-11-01", "total", None)] == 100.0
    assert month[("headcount", "2022-02-01", "org_level_2", "A")] == 50.0
    assert month[("headcount", "2022-03-01", "total", None)] == 90.0
    assert month[("headcount", "2022-04-01", "org_level_2", "A")] == 45.0
    # A rolling figure reaches back a year: frozen before 2023-03-01.
    assert month[("turnover_rate_rolling_12m", "2023-02-01", "total", None)] == 100.0
    assert month[("turnover_rate_rolling_12m", "2023-03-01", "total", None)] == 90.0
    # A year freezes with its first months: by then it has long ended (the horizon trails the
    # HR snapshot by two years).
    year = published(con, "year")
    assert year[("headcount", "2022-01-01", "total", None)] == 100.0
    assert year[("headcount", "2023-01-01", "total", None)] == 90.0
    # Nothing doubled: one row per metric, period, dimension and member.
    assert con.sql("select count(*) from kpi.metrics_month").fetchall()[0][0] == 12


def with_rolling_windows(window: dict) -> dict:
    """The project's metrics with every rolling metric's window replaced."""
    manifest = copy.deepcopy(MANIFEST)
    for metric in manifest["metrics"]:
        if metric["type"] == "cumulative":
            metric["type_params"]["cumulative_type_params"].update(window)
    return manifest


def frozen_then_recomputed(con: duckdb.DuckDBPyConnection, manifest: dict) -> dict:
    """The month figures after a freeze, a run computing 90 everywhere, and its freeze."""
    freeze_closed_periods(con, HORIZON, manifest)
    con.execute("update kpi.metrics_month set value = 90")
    freeze_closed_periods(con, HORIZON, manifest)
    return published(con)


def test_a_rolling_figure_closes_as_many_months_later_as_its_window_reaches_back():
    # Figures up to 2022-07-01 are frozen with a six-month window (before 2022-03-01 + 6).
    con = duckdb.connect()
    build(con, 100.0)
    rolling = [dt.date(2022, 7, 1), dt.date(2022, 9, 1)]
    con.executemany(
        "insert into kpi.metrics_month values ('turnover_rate_rolling_12m', ?, 'total', null, 100)",
        [[month] for month in rolling],
    )
    month = frozen_then_recomputed(
        con, with_rolling_windows({"window": {"count": 6, "granularity": "month"}})
    )
    assert month[("turnover_rate_rolling_12m", "2022-07-01", "total", None)] == 100.0
    assert month[("turnover_rate_rolling_12m", "2022-09-01", "total", None)] == 90.0
    # A plain metric is unaffected by the rolling window.
    assert month[("headcount", "2021-11-01", "total", None)] == 100.0
    assert month[("headcount", "2022-03-01", "total", None)] == 90.0


def test_a_rolling_figure_whose_window_has_no_bound_is_never_frozen():
    con = duckdb.connect()
    build(con, 100.0)
    month = frozen_then_recomputed(
        con, with_rolling_windows({"window": None, "grain_to_date": "year"})
    )
    assert month[("turnover_rate_rolling_12m", "2023-02-01", "total", None)] == 90.0
    assert month[("headcount", "2021-11-01", "total", None)] == 100.0


def test_a_later_horizon_freezes_more_and_never_rewrites_what_was_frozen():
    con = duckdb.connect()
    build(con, 100.0)
    freeze_closed_periods(con, HORIZON, MANIFEST)
    build(con, 90.0)
    freeze_closed_periods(con, dt.date(2022, 1, 31), MANIFEST)  # frozen before 2022-04-01 now
    build(con, 80.0)
    freeze_closed_periods(con, dt.date(2022, 1, 31), MANIFEST)
    month = published(con)
    assert month[("headcount", "2022-02-01", "total", None)] == 100.0
    assert month[("headcount", "2022-03-01", "total", None)] == 90.0
    assert month[("headcount", "2022-04-01", "total", None)] == 80.0


def test_a_later_run_computes_the_periods_from_the_year_of_the_archives_boundary_on():
    catalog = build_catalog(MANIFEST)
    con = duckdb.connect()
    build(con, 100.0)
    written = sorted(
        {(grain, metric) for group in metric_groups(MANIFEST, catalog)
         for grain in group.grains for metric in group.metrics}
    )  # fmt: skip
    for grain, metric in written:
        con.execute(
            f"insert into kpi.metrics_{grain} values (?, '2021-01-01', 'total', null, 1)", [metric]
        )
    # Nothing frozen yet: every period is computed.
    assert frozen_periods_reused_before(con, MANIFEST, catalog) is None
    freeze_closed_periods(con, HORIZON, MANIFEST)  # frozen before 2022-03-01
    assert frozen_periods_reused_before(con, MANIFEST, catalog) == dt.date(2022, 1, 1)
    # A metric without a figure in the archive (new, or none so far): its closed periods have
    # not been published yet, so all are computed.
    con.execute(f"delete from {FROZEN_METRICS} where metric = ?", [written[0][1]])
    assert frozen_periods_reused_before(con, MANIFEST, catalog) is None
    freeze_closed_periods(con, HORIZON, MANIFEST)
    assert frozen_periods_reused_before(con, MANIFEST, catalog) == dt.date(2022, 1, 1)
