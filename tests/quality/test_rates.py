"""The KPI tables' checks: every percentage within 0..100 (up to floating-point rounding only),
counts never negative, and the headline figures plausible (a warning)."""

import json

import duckdb
import pytest

from metrics.catalog import PROJECT_ROOT
from quality.suites import build_suites, run_suites

MANIFEST = PROJECT_ROOT / "dbt_project" / "target" / "manifest.json"


def suite_named(name: str):
    return next(s for s in build_suites(json.loads(MANIFEST.read_text()), None) if s.name == name)


def kpi_check(tmp_path, name: str, rows: list[tuple], table: str = "metrics_month") -> bool:
    """One gate suite on a warehouse holding only these KPI rows (a catalog naming their units)."""
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema kpi")
        con.execute(
            "create table kpi.kpi_catalog as select * from (values ('flex_share', 'percent'), "
            "('headcount', 'count'), ('fte_difference', 'fte'), ('verzuim_pct', 'percent'), "
            "('turnover_rate', 'percent'), ('average_fte', 'fte'), ('average_headcount', 'count')) "
            "as t(name, unit)"
        )
        con.execute(
            f"create table kpi.{table} "
            "(metric varchar, period_start date, dimension varchar, value double)"
        )
        con.executemany(f"insert into kpi.{table} values (?, ?, ?, ?)", rows)
    return run_suites([suite_named(name)], warehouse)[0].passed


def shares_check(tmp_path, flex_share: float, turnover_rate: float = 12.5) -> bool:
    rows = [
        ("flex_share", "2025-01-01", "total", flex_share),
        ("flex_share", "2025-02-01", "total", 40.0),
        ("turnover_rate", "2025-01-01", "total", turnover_rate),
    ]
    return kpi_check(tmp_path, "gx_rates_within_0_100", rows)


def test_a_share_one_ulp_above_100_passes(tmp_path):
    # 100.0 * a / a in floating point: seen on a benchmark night for an all-flex unit.
    assert shares_check(tmp_path, flex_share=100.00000000000001)


@pytest.mark.parametrize("flex_share", [100.001, -0.001])
def test_a_share_outside_0_100_fails(tmp_path, flex_share):
    assert not shares_check(tmp_path, flex_share=flex_share)


def test_a_turnover_rate_above_100_is_no_share(tmp_path):
    # More leavers than average headcount happens in a small unit: an event rate, not a share.
    assert shares_check(tmp_path, flex_share=50.0, turnover_rate=214.3)


def test_a_negative_count_fails_and_a_negative_difference_does_not(tmp_path):
    def counts(value: float, metric: str) -> bool:
        (tmp_path / "warehouse.duckdb").unlink(missing_ok=True)
        rows = [(metric, "2025-01-01", "total", value), ("headcount", "2025-01-01", "total", 7.0)]
        return kpi_check(tmp_path, "gx_counts_not_negative", rows)

    assert counts(0.0, "headcount")
    assert not counts(-1.0, "headcount")
    assert counts(-3.5, "fte_difference")


def test_an_implausible_headline_figure_is_a_warning(tmp_path):
    def year(start: str, verzuim: float) -> list[tuple]:
        return [
            ("verzuim_pct", start, "total", verzuim),
            ("turnover_rate", start, "total", 12.0),
            ("average_fte", start, "total", 90.0),
            ("average_headcount", start, "total", 100.0),
        ]

    plausible = year("2023-01-01", 5.2) + year("2024-01-01", 4.8) + year("2025-01-01", 5.0)
    assert kpi_check(tmp_path, "gx_headline_plausible", plausible, "metrics_year")
    (tmp_path / "warehouse.duckdb").unlink()
    # verzuim of 40 % in two of the last three years: more than the fifth `mostly` allows.
    implausible = year("2023-01-01", 5.2) + year("2024-01-01", 40.0) + year("2025-01-01", 40.0)
    assert not kpi_check(tmp_path, "gx_headline_plausible", implausible, "metrics_year")
    assert suite_named("gx_headline_plausible").severity == "WARN"
