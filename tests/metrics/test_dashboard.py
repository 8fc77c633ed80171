"""The dashboard's data: which org units it offers, and how many pages it keeps.
(The page itself, in a real browser: tests/e2e/test_publish.py.)"""

import json
import os

import duckdb
import pytest

from metrics import dashboard
from metrics.dashboard import build_payload, filter_level
from metrics.publish import prune_per_run


def org_units(con, per_level: list[int]) -> None:
    """An org tree with the given number of units per level (ids `L<level>-<n>`)."""
    con.execute("create schema if not exists marts")
    con.execute(
        "create or replace table marts.dim_org_units (org_unit_id varchar, org_unit_name "
        "varchar, org_level integer, org_level_1_id varchar, org_level_2_id varchar, "
        "org_level_3_id varchar)"
    )
    for level, count in enumerate(per_level, start=1):
        con.execute(
            "insert into marts.dim_org_units select 'L' || ? || '-' || range, 'unit ' || range, "
            "?, 'L1-0', case when ? >= 2 then 'L2-0' end, case when ? >= 3 then 'L3-0' end "
            "from range(?)",
            [level, level, level, level, count],
        )


@pytest.mark.parametrize(
    "per_level, deepest",
    [
        ([1, 12, 1_429], 3),  # 100,000 employees: 1,442 units down to level 3
        ([1, 12, 14_286], 2),  # a million: 14,299 would be too many for one page
        ([1, 2_000, 5], 1),  # the top is always offered, whatever follows
        ([1, 12, 1_987], 3),  # exactly 2,000
    ],
)
def test_the_filter_offers_units_down_to_the_last_level_with_at_most_two_thousand(
    per_level, deepest
):
    with duckdb.connect() as con:
        org_units(con, per_level)
        assert filter_level(con) == deepest


def test_the_page_carries_figures_and_survey_results_of_offered_units_only(tmp_path, monkeypatch):
    """Three levels (1, 2 and 3 units), at most three units on offer: the top and its two
    divisions. The departments' KPI rows and survey results stay out of the page."""
    monkeypatch.setattr(dashboard, "MAX_FILTER_UNITS", 3)
    serving = tmp_path / "serving.duckdb"
    with duckdb.connect(str(serving)) as con:
        org_units(con, [1, 2, 3])
        con.execute("create schema kpi")
        con.execute(
            "create table kpi.kpi_catalog as select 'run-1' as run_id, 'headcount' as name, "
            "'Bezetting' as dutch_name, 'Headcount' as label"
        )
        for grain in dashboard.GRAINS:
            con.execute(
                f"create table kpi.metrics_{grain} as select * from (values "
                "('headcount', 'total', null, date '2025-01-01', 100.0), "
                "('headcount', 'org_level_2', 'L2-1', date '2025-01-01', 40.0), "
                "('headcount', 'org_level_3', 'L3-2', date '2025-01-01', 7.0)) "
                "t(metric, dimension, member, period_start, value)"
            )
        con.execute("create schema survey")
        con.execute(
            "create table survey.engagement_results as select * from (values "
            "('W1', 'L2-0', false, 7.5, 0.6, 10.0, 0.8, 12), "
            "('W1', 'L3-1', false, 6.0, 0.5, 0.0, 0.7, 6)) t(wave_id, org_unit_id, "
            "is_suppressed, engagement_index, engaged_share, enps, response_rate, respondents), "
            "(select 'all' as attribute)"
        )
    payload = build_payload(serving)
    assert [unit[0] for unit in payload["units"]] == ["L1-0", "L2-0", "L2-1"]
    for grain in dashboard.GRAINS:
        assert payload["kpis"][grain]["periods"] == ["2025-01-01"]
        assert json.loads(payload["kpis"][grain]["series"]["headcount"]) == {
            "": [0, 100.0],
            "L2-1": [0, 40.0],
        }
    assert [row["org_unit_id"] for row in payload["engagement"]] == ["L2-0"]


def test_per_run_pages_are_kept_for_this_run_and_the_one_before(tmp_path):
    pages = []
    for age, run in enumerate(["run-d", "run-c", "run-b", "run-a"]):
        page = tmp_path / f"{run}.html"
        page.write_text(run)
        os.utime(page, (1_000_000 - age, 1_000_000 - age))
        pages.append(page)
    prune_per_run(pages, keep=tmp_path / "run-d.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-c.html", "run-d.html"]


def test_each_unit_carries_its_span_of_periods_with_gaps_and_empty_values_kept(tmp_path):
    """The whole organisation in every month; a division in January and March but not February
    (false: no row), its March row without a value (null); another division in February only
    (its span starts at the second period). Periods are listed once per grain."""
    serving = tmp_path / "serving.duckdb"
    with duckdb.connect(str(serving)) as con:
        org_units(con, [1, 2])
        con.execute("create schema kpi")
        con.execute(
            "create table kpi.kpi_catalog as select 'run-1' as run_id, 'turnover_rate' as name, "
            "null as dutch_name, 'Turnover rate' as label"
        )
        rows = (
            "('turnover_rate', 'total', null, date '2025-01-01', 1.5), "
            "('turnover_rate', 'total', null, date '2025-02-01', 0.25), "
            "('turnover_rate', 'total', null, date '2025-03-01', 2.0), "
            "('turnover_rate', 'org_level_2', 'L2-0', date '2025-01-01', 3.0), "
            "('turnover_rate', 'org_level_2', 'L2-0', date '2025-03-01', null), "
            "('turnover_rate', 'org_level_2', 'L2-1', date '2025-02-01', 0.1)"
        )
        for grain in dashboard.GRAINS:
            con.execute(
                f"create table kpi.metrics_{grain} as select * from (values {rows}) "
                "t(metric, dimension, member, period_start, value)"
            )
    kpis = build_payload(serving)["kpis"]["month"]
    assert kpis["periods"] == ["2025-01-01", "2025-02-01", "2025-03-01"]
    assert json.loads(kpis["series"]["turnover_rate"]) == {
        "": [0, 1.5, 0.25, 2.0],
        "L2-0": [0, 3.0, False, None],
        "L2-1": [1, 0.1],
    }
    page = dashboard.render(build_payload(serving))
    data = page.split('id="data">', 1)[1].split("</script>", 1)[0]
    assert json.loads(data)["kpis"]["year"]["series"]["turnover_rate"]["L2-1"] == [1, 0.1]
