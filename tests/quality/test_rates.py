"""The shares check: every percentage KPI within 0..100, up to floating-point rounding only."""

import json

import duckdb
import pytest

from metrics.catalog import PROJECT_ROOT
from quality.suites import build_suites, run_suites

MANIFEST = PROJECT_ROOT / "dbt_project" / "target" / "manifest.json"


def shares_check(tmp_path, flex_share: float, turnover_rate: float = 12.5) -> bool:
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema kpi")
        con.execute(
            "create table kpi.kpi_catalog as select * from (values "
            "('flex_share', 'percent'), ('turnover_rate', 'percent')) as t(name, unit)"
        )
        con.execute(
            "create table kpi.metrics_month as select * from (values "
            "('flex_share', ?), ('flex_share', 40.0), ('turnover_rate', ?)) as t(metric, value)",
            [flex_share, turnover_rate],
        )
    suite = next(
        s
        for s in build_suites(json.loads(MANIFEST.read_text()), None)
        if s.name == "gx_rates_within_0_100"
    )
    return run_suites([suite], warehouse)[0].passed


def test_a_share_one_ulp_above_100_passes(tmp_path):
    # 100.0 * a / a in floating point: seen on a benchmark night for an all-flex unit.
    assert shares_check(tmp_path, flex_share=100.00000000000001)


@pytest.mark.parametrize("flex_share", [100.001, -0.001])
def test_a_share_outside_0_100_fails(tmp_path, flex_share):
    assert not shares_check(tmp_path, flex_share=flex_share)


def test_a_turnover_rate_above_100_is_no_share(tmp_path):
    # More leavers than average headcount happens in a small unit: an event rate, not a share.
    assert shares_check(tmp_path, flex_share=50.0, turnover_rate=214.3)
