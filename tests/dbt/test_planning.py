"""SPP against a hand-computed projection (tests/fixtures/planning.py), built by the real
pipeline: a retirement in the middle of year 1, a family below 20 people on the organisation's
attrition rate, and a growth scenario."""

from pathlib import Path

import pytest

from tests.fixtures import planning
from tests.pipeline import built_home, kpi_json, read_only

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("planning")]


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return built_home(tmp_path_factory, "planning", planning.write_landing)


@pytest.fixture(scope="module")
def warehouse(home):
    con = read_only(home)
    yield con
    con.close()


def test_attrition_rates_use_the_family_or_the_organisation(warehouse):
    rates = dict(
        warehouse.sql("""select job_family, any_value(attrition_rate)
                         from marts.fct_spp_supply_projection group by 1""").fetchall()
    )
    assert rates["Care"] == pytest.approx(planning.CARE_RATE, abs=1e-12)
    assert rates["Office"] == pytest.approx(planning.ORGANISATION_RATE, abs=1e-12)


def test_projected_supply_per_family_and_year(home):
    rows = kpi_json(home, "projected_supply_fte,projected_supply_headcount,retirements_fte",
               "--grain", "year", "--by", "job_family")  # fmt: skip
    for row in rows:
        index = planning.YEARS.index(int(row["year"][:4]))
        family = row["job_family"]
        assert row["projected_supply_fte"] == pytest.approx(
            planning.PROJECTED_FTE[family][index], abs=1e-9
        )
        assert row["projected_supply_headcount"] == pytest.approx(
            planning.PROJECTED_HEADCOUNT[family][index], abs=1e-9
        )
    retirements = {(r["year"][:4], r["job_family"]): r["retirements_fte"] for r in rows}
    assert retirements[("2026", "Care")] == 0.5 and retirements[("2028", "Office")] == 1.0
    assert len(rows) == 10


def test_demand_gap_and_hires_needed_per_scenario(home):
    rows = kpi_json(home, "demand_fte,gap_fte,hires_needed_fte", "--grain", "year",
               "--by", "scenario", "--by", "job_family")  # fmt: skip
    assert len(rows) == 20
    for row in rows:
        key = (row["scenario"], row["job_family"])
        index = planning.YEARS.index(int(row["year"][:4]))
        demand = planning.DEMAND[key][index]
        gap = demand - planning.PROJECTED_FTE[row["job_family"]][index]
        previous_gap = (
            planning.DEMAND[key][index - 1] - planning.PROJECTED_FTE[row["job_family"]][index - 1]
            if index
            else 0
        )
        assert row["demand_fte"] == demand
        assert row["gap_fte"] == pytest.approx(gap, abs=1e-9)
        assert row["hires_needed_fte"] == pytest.approx(gap - previous_gap, abs=1e-9)


def test_projection_year_is_a_dimension(home):
    rows = kpi_json(home, "gap_fte", "--by", "projection_year", "--by", "scenario")
    assert {r["projection_year"][:4] for r in rows} == {str(y) for y in planning.YEARS}
    assert {r["scenario"] for r in rows} == {"base", "growth"}


def test_supply_today_flex_share_and_age_bands(home):
    [mix] = kpi_json(home, "flex_share,supply_fte,supply_headcount,workforce_fte")
    assert mix["flex_share"] == pytest.approx(planning.FLEX_SHARE)
    assert (mix["supply_fte"], mix["supply_headcount"], mix["workforce_fte"]) == (24.5, 25, 25.5)
    bands = {r["age_band"]: r["supply_headcount"] for r in kpi_json(home, "supply_headcount",
                                                               "--by", "age_band")}  # fmt: skip
    assert bands == {"45-54": 23, "60-64": 1, "65+": 1}


def test_aow_dates_follow_the_published_table(warehouse):
    # SVB: born 1958-1960 -> 67 years; born 1961 -> 67 years and 3 months (2028); 1962 assumed.
    lookup = warehouse.sql("""
        select cast(born as varchar), aow_years, aow_months, is_assumption
        from (values (date '1958-01-15'), (date '1959-06-30'), (date '1960-12-31'),
                     (date '1961-01-01'), (date '1962-05-20')) as births(born)
        join reference.aow_ages on born between born_from and born_to
        order by born""").fetchall()
    assert [row[1:3] for row in lookup] == [(67, 0), (67, 0), (67, 0), (67, 3), (67, 3)]
    assert [row[3] for row in lookup] == [False, False, False, False, True]
    dated = dict(
        warehouse.sql("""
            select birth.employee_key, cast(any_value(employees.aow_date) as varchar)
            from marts.dim_employees as employees
            join restricted.stg_restricted__hris_employees as birth using (employee_key)
            where birth.birth_date in ('1959-07-15', '1961-03-10')
            group by 1""").fetchall()
    )
    assert sorted(dated.values()) == sorted(planning.AOW_DATES.values())
