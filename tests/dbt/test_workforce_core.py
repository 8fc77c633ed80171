"""Workforce facts against hand-computed values (tests/fixtures/workforce_core.py), built by the
real pipeline: re-hire, mid-month part-time change, transfer, concurrent contracts (one inside
another, one overlapping the end of another), an external contract, a leaver on the last day of a
month, and a backdated correction in a later snapshot."""

import json
from pathlib import Path

import pytest

from tests.dbt.grain import copy_with, grain_test, grain_test_after
from tests.dbt.identities import unit_headcount_identity_breaks
from tests.fixtures import workforce_core
from tests.pipeline import built_home, kpi, kpi_json, read_only

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("workforce_core")]


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return built_home(tmp_path_factory, "core", workforce_core.write_landing)


@pytest.fixture(scope="module")
def warehouse(home):
    con = read_only(home)
    yield con
    con.close()


def month_totals(con, month: str) -> dict:
    columns = list(workforce_core.EXPECTED[month])
    row = con.execute(
        f"select {', '.join(f'sum({c})' for c in columns)} from marts.fct_workforce_monthly "
        "where month_start_date = ?",
        [month],
    ).fetchall()[0]
    return dict(zip(columns, (float(v) for v in row), strict=True))


@pytest.mark.parametrize("month", list(workforce_core.EXPECTED))
def test_monthly_workforce_facts_match_the_hand_computed_values(warehouse, month):
    expected = workforce_core.EXPECTED[month]
    actual = month_totals(warehouse, month)
    for measure, value in expected.items():
        assert actual[measure] == pytest.approx(value, abs=1e-6), measure


def test_average_headcount_and_fte_are_exact_daily_averages(warehouse):
    january = month_totals(warehouse, "2024-01-01")
    assert january["employed_days"] / 31 == 6.0
    assert january["fte_days"] / 31 == pytest.approx(180.4442 / 31, abs=1e-9)


def test_a_contract_overlapping_the_end_of_another_covers_only_the_days_after_it(warehouse):
    """C11 starts on 10 January while C10 runs to 20 January: its days up to the 20th count FTE
    but not headcount, so it is split there, like at a band boundary."""
    pieces = warehouse.sql("""
        select contract_id, strftime(sub_from, '%Y-%m-%d'), strftime(sub_to, '%Y-%m-%d'),
               is_coverage, parttime_factor
        from intermediate.int_workforce_pieces_split
        where contract_id in ('C10', 'C11') and month_start_date = '2024-01-01'
        order by sub_from, contract_id""").fetchall()
    assert [(c, start, end, covers, float(factor)) for c, start, end, covers, factor in pieces] == [
        ("C10", "2024-01-01", "2024-01-20", True, 1.0),
        ("C11", "2024-01-10", "2024-01-20", False, 0.5),
        ("C11", "2024-01-21", "2024-01-31", True, 0.5),
    ]


def test_the_external_contract_is_not_in_headcount_or_fte(warehouse):
    segments = warehouse.sql(
        "select distinct contract_type from marts.dim_segments where segment_kind = 'workforce'"
    ).fetchall()
    assert ("external",) not in segments


def test_the_rehire_is_a_new_employment_period(warehouse):
    periods = warehouse.sql("""
        select period_number, hire_date, termination_date, is_rehire, is_voluntary, is_regretted
        from intermediate.int_employment_periods_derived
        where employee_key = (select employee_key from intermediate.int_employment_periods_derived
                              group by 1 having count(*) = 2)
        order by period_number""").fetchall()
    assert [(p[0], str(p[1]), str(p[2]) if p[2] else None, p[3]) for p in periods] == [
        (1, "2023-06-01", "2024-01-31", False),
        (2, "2024-02-15", None, True),
    ]
    assert periods[0][4] and periods[0][5]


def test_the_age_band_changes_on_the_birthday(warehouse):
    bands = warehouse.sql("""
        select segments.age_band, sum(facts.employed_days)
        from marts.fct_workforce_monthly as facts
        join marts.dim_segments as segments using (segment_key)
        where facts.month_start_date = '2024-01-01' and segments.age_band in ('<25', '25-34')
          and facts.employee_key in (select employee_key from marts.dim_employees
                                     where contract_id = 'C2')
        group by 1 order by 1""").fetchall()
    assert bands == [("25-34", 12), ("<25", 19)]


def headcount_identity_breaks(con) -> list:
    """Months where end headcount != previous end headcount + hires - leavers.

    People leaving on a month's last day are still counted at that month end, so they leave the
    count one month later: + leavers on this month's last day - those on the previous one's.
    """
    months = con.sql("""
        select month_start_date, sum(headcount_at_month_end), sum(hires), sum(leavers)
        from marts.fct_workforce_monthly group by 1 order by 1""").fetchall()
    last_day_leavers = dict(
        con.sql("""
        select cast(date_trunc('month', termination_date) as date), count(*)
        from intermediate.int_employment_periods_derived
        where termination_date = last_day(termination_date) group by 1""").fetchall()
    )
    breaks = []
    for (previous_month, previous, _, _), (month, current, hires, leavers) in zip(
        months, months[1:], strict=False
    ):
        expected = (
            previous
            + hires
            - leavers
            + last_day_leavers.get(month, 0)
            - last_day_leavers.get(previous_month, 0)
        )
        if expected != current:
            breaks.append((month, previous, hires, leavers, current))
    return breaks


def test_headcount_moves_only_by_hires_and_leavers(warehouse):
    assert (
        len(
            warehouse.sql(
                "select distinct month_start_date from marts.fct_workforce_monthly"
            ).fetchall()
        )
        >= 2
    )
    assert headcount_identity_breaks(warehouse) == []


def test_every_unit_moves_only_by_hires_leavers_and_transfers(warehouse):
    transfers = warehouse.sql(
        "select sum(transfers_in), sum(transfers_out) from marts.fct_workforce_monthly"
    ).fetchall()
    assert transfers == [(1, 1)]  # E3 from A to B on 1 February
    assert unit_headcount_identity_breaks(warehouse) == []


def test_kpi_answers_through_metricflow_per_month_and_unit(home):
    result = kpi(
        home,
        "headcount,average_headcount,hires,leavers,turnover_rate",
        "--from",
        "2024-01-01",
        "--to",
        "2024-02-29",
        "--grain",
        "month",
        "--by",
        "org_unit",
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    rows = {(r["month"], r["org_unit"]): r for r in json.loads(result.stdout)}
    assert rows[("2024-01-01", "A")]["headcount"] == 5
    assert rows[("2024-01-01", "A")]["average_headcount"] == pytest.approx(5.0)
    assert rows[("2024-01-01", "A")]["turnover_rate"] == pytest.approx(20.0)
    assert rows[("2024-02-01", "B")]["headcount"] == 2
    assert rows[("2024-02-01", "B")]["average_headcount"] == pytest.approx(54 / 29, abs=1e-5)
    assert rows[("2024-02-01", "B")]["hires"] == 1
    assert rows[("2024-02-01", "B")]["turnover_rate"] == pytest.approx(100 / (54 / 29), abs=1e-4)
    assert rows[("2024-01-01", "B")]["turnover_rate"] == 0


def test_kpi_without_grain_treats_the_range_as_one_period(home):
    result = kpi(
        home,
        "headcount,fte,average_headcount,average_fte,turnover_rate",
        "--from",
        "2024-01-01",
        "--to",
        "2024-02-29",
        "--format",
        "csv",
    )
    assert result.returncode == 0, result.stderr
    header, values = result.stdout.strip().splitlines()
    row = dict(zip(header.split(","), map(float, values.split(",")), strict=True))
    # Employed days: January 186, February 141; FTE days: 180.4442 and 112.
    assert row["headcount"] == 5 and row["fte"] == pytest.approx(4.0)
    assert row["average_headcount"] == pytest.approx(327 / 60, abs=1e-5)
    assert row["average_fte"] == pytest.approx((180.4442 + 112) / 60, abs=1e-5)
    assert row["turnover_rate"] == pytest.approx(200 / (327 / 60), abs=1e-4)


def test_kpi_rolls_up_the_tree_and_slices_leavers_by_initiative(home):
    rollup = kpi(
        home,
        "average_headcount",
        "--from",
        "2024-01-01",
        "--to",
        "2024-02-29",
        "--by",
        "org_level_1",
        "--format",
        "json",
    )
    assert json.loads(rollup.stdout) == [
        {"org_level_1": "R", "average_headcount": pytest.approx(327 / 60, abs=1e-5)}
    ]
    exits = kpi(
        home,
        "leavers,voluntary_leavers,regretted_leavers",
        "--by",
        "initiative",
        "--format",
        "json",
    )
    by_initiative = {r["initiative"]: r for r in json.loads(exits.stdout)}
    assert by_initiative["employee"]["leavers"] == 1
    assert by_initiative["employee"]["regretted_leavers"] == 1


def test_kpi_refuses_a_range_it_would_widen_and_unknown_names(home):
    partial = kpi(home, "headcount", "--from", "2024-01-15", "--to", "2024-02-29")
    assert partial.returncode == 2 and "not the first day of a month" in partial.stderr
    quarter = kpi(home, "headcount", "--from", "2024-02-01", "--grain", "quarter")
    assert quarter.returncode == 2 and "quarter" in quarter.stderr
    unknown = kpi(home, "happiness", "--by", "org_unit")
    assert unknown.returncode == 2 and "unknown metric(s): happiness" in unknown.stderr
    table = kpi(home, "headcount", "--by", "gender")
    assert table.returncode == 0 and "gender" in table.stdout


def test_retention_rate_per_month_quarter_and_year(home, warehouse):
    stored = warehouse.sql("""
        select period_grain, cast(period_start_date as varchar), sum(starters), sum(retained)
        from marts.fct_retention_periods group by 1, 2""").fetchall()
    stored = {(grain, start): (starters, retained) for grain, start, starters, retained in stored}
    for key, expected in workforce_core.RETENTION.items():
        assert stored[key] == expected, key
    months = kpi_json(
        home, "retention_rate", "--from", "2024-01-01", "--to", "2024-02-29", "--grain", "month"
    )
    assert [(r["month"], r["retention_rate"]) for r in months] == [
        ("2024-01-01", 100.0),
        ("2024-02-01", 80.0),  # 4 of 5
    ]
    # A range of exactly one quarter is that quarter; February ended before Q1 did.
    quarter = kpi_json(home, "retention_rate", "--from", "2023-10-01", "--to", "2023-12-31")
    assert quarter == [{"retention_rate": 100.0}]
    two_months = kpi(home, "retention_rate", "--from", "2024-01-01", "--to", "2024-02-29")
    assert two_months.returncode == 2 and "per calendar month, quarter or year" in two_months.stderr


def test_rolling_twelve_month_turnover(home):
    expected = workforce_core.ROLLING_12M_FEBRUARY
    rows = kpi_json(
        home,
        "turnover_rate_rolling_12m,average_headcount_rolling_12m,rolling_12m_months_covered",
        "--from",
        "2024-02-01",
        "--to",
        "2024-02-29",
        "--grain",
        "month",
    )
    average = expected["employed_days"] / expected["days"]
    assert rows[0]["average_headcount_rolling_12m"] == pytest.approx(average, abs=1e-5)
    assert rows[0]["turnover_rate_rolling_12m"] == pytest.approx(
        expected["leavers"] * 100 / average, abs=1e-4
    )
    assert rows[0]["rolling_12m_months_covered"] == 12
    no_grain = kpi(home, "turnover_rate_rolling_12m")
    assert no_grain.returncode == 2 and "--grain" in no_grain.stderr


def test_first_year_turnover_by_hire_cohort_marks_incomplete_cohorts(home):
    rows = kpi_json(
        home,
        "cohort_hires,first_year_leavers,first_year_incomplete_hires,first_year_turnover_rate",
        "--from",
        "2023-01-01",
        "--to",
        "2024-02-29",
        "--grain",
        "month",
    )
    cohorts = {r["month"]: r for r in rows if r["cohort_hires"]}
    assert set(cohorts) == set(workforce_core.FIRST_YEAR_COHORTS)
    for month, (hires, left, complete) in workforce_core.FIRST_YEAR_COHORTS.items():
        row = cohorts[month]
        assert (row["cohort_hires"], row["first_year_leavers"]) == (hires, left), month
        assert (row["first_year_incomplete_hires"] == 0) == complete, month
        assert row["first_year_turnover_rate"] == pytest.approx(100 * left / hires)


def test_internal_fill_rate_and_time_to_fill(home):
    expected = workforce_core.FILLED_FEBRUARY
    rows = kpi_json(
        home,
        "vacancies_filled,internal_fill_rate,time_to_fill_median,time_to_fill_mean",
        "--from",
        "2024-02-01",
        "--to",
        "2024-02-29",
    )
    assert rows == [
        {
            "vacancies_filled": expected["filled"],
            "internal_fill_rate": pytest.approx(100 * expected["internal"] / expected["filled"]),
            "time_to_fill_median": expected["median_days"],
            "time_to_fill_mean": expected["mean_days"],
        }
    ]
    january = kpi_json(home, "vacancies_filled", "--from", "2024-01-01", "--to", "2024-01-31")
    assert january == [{"vacancies_filled": None}]


def test_span_of_control_and_tenure_at_exit(home):
    rows = kpi_json(
        home,
        "managers,direct_reports,span_of_control,tenure_at_exit_avg_years",
        "--from",
        "2024-01-01",
        "--to",
        "2024-02-29",
        "--grain",
        "month",
    )
    for row in rows:
        managers, reports = workforce_core.SPAN_OF_CONTROL[row["month"]]
        assert (row["managers"], row["direct_reports"]) == (managers, reports)
        assert row["span_of_control"] == pytest.approx(reports / managers)
        tenure = workforce_core.TENURE_AT_EXIT_DAYS[row["month"]]
        assert row["tenure_at_exit_avg_years"] == pytest.approx(tenure / 365.25, abs=1e-6)


def test_fte_reconciliation_by_hand(warehouse):
    rows = warehouse.sql("""
        select cost_center, strftime(month_start_date, '%Y-%m'), hr_average_fte,
               payroll_paid_fte, hr_headcount, payroll_headcount, reconciliation_status
        from marts.fct_fte_reconciliation_monthly""").fetchall()
    actual = {(cc, month): rest for cc, month, *rest in rows}
    assert set(actual) == set(workforce_core.RECONCILIATION)
    for key, (
        hr_fte,
        paid_fte,
        hr_heads,
        paid_heads,
        status,
    ) in workforce_core.RECONCILIATION.items():
        row = actual[key]
        assert float(row[0]) == pytest.approx(hr_fte, abs=1e-6), key
        assert (row[1], row[2], row[3], row[4]) == (paid_fte, hr_heads, paid_heads, status), key


def test_finance_follows_the_mapping_history_and_records_the_restatement(home, warehouse):
    by_unit = kpi_json(home, "revenue", "--from", "2024-01-01", "--to", "2024-02-29",
                       "--grain", "month", "--by", "org_unit")  # fmt: skip
    actual = {(r["month"][:7], r["org_unit"]): r["revenue"] for r in by_unit if r["revenue"]}
    assert actual == {
        (month[:7], unit): value for (month, unit), value in workforce_core.REVENUE_BY_UNIT.items()
    }
    restated = warehouse.sql("""
        select period, account_class, previous_amount, restated_amount
        from marts.fct_finance_restatements where difference <> 0""").fetchall()
    assert [(p, c, float(a), float(b)) for p, c, a, b in restated] == [workforce_core.RESTATEMENT]


def test_productivity_and_human_capital_roi(home):
    expected = workforce_core.JANUARY_FINANCE
    [row] = kpi_json(
        home, "revenue,personnel_cost,revenue_per_fte,personnel_cost_per_fte,human_capital_roi,"
        "fte_difference,reconciliation_mismatches", "--from", "2024-01-01", "--to", "2024-01-31",
    )  # fmt: skip
    average_fte = 180.4442 / 31
    assert row["revenue"] == pytest.approx(expected["revenue"])
    assert row["revenue_per_fte"] == pytest.approx(expected["revenue"] / average_fte, abs=1e-4)
    assert row["personnel_cost_per_fte"] == pytest.approx(
        expected["personnel_cost"] / average_fte, abs=1e-4
    )
    assert row["human_capital_roi"] == pytest.approx(
        (expected["revenue"] - expected["other_cost"]) / expected["personnel_cost"] - 1, abs=1e-9
    )
    assert row["fte_difference"] == pytest.approx(147 / 31 - 4.74 + 33.4442 / 31 - 1.08 - 3.0)
    assert row["reconciliation_mismatches"] == 1  # K9: not mapped to HR


def test_formation_against_occupation(home):
    rows = kpi_json(home, "budget_fte,occupied_fte,formation_gap_fte", "--from", "2024-01-01",
                    "--to", "2024-12-31", "--by", "cost_center")  # fmt: skip
    for row in rows:
        budget, occupied = workforce_core.FORMATION_2024[(row["cost_center"], "Finance")]
        assert row["budget_fte"] == budget
        assert row["occupied_fte"] == pytest.approx(occupied, abs=1e-6)
        assert row["formation_gap_fte"] == pytest.approx(budget - occupied, abs=1e-6)


def test_the_month_bits_grain_test_finds_every_duplicate_key(home, tmp_path):
    """The segment calendar's grain test counts each segment's months as bits (a group per
    segment and 64 months, then the groups with more rows than bits by their columns): a
    duplicated segment is found, and a repeated text or null key too (nulls group together),
    each once per month of the calendar."""
    calendar, target = "fct_segment_calendar_monthly", tmp_path / "target"
    one_workforce_segment = (
        "select * from marts.dim_segments where segment_kind = 'workforce' "
        "order by segment_key limit 1"
    )
    clean = copy_with(home, tmp_path / "clean")
    with read_only(clean.parent) as con:
        [(months,)] = con.sql(
            f"select count(distinct month_start_date) from marts.{calendar}"
        ).fetchall()
    assert months > 12 and grain_test(clean, calendar, target).returncode == 0
    duplicated = copy_with(
        home, tmp_path / "hex", f"insert into marts.dim_segments {one_workforce_segment}"
    )
    failed = grain_test(duplicated, calendar, target)
    assert failed.returncode != 0 and f"Got {months} results" in failed.stdout
    others = [
        f"insert into marts.dim_segments select * replace ({key} as segment_key) "
        f"from ({one_workforce_segment})"
        for key in ("'not-hexadecimal'", "null")
        for _ in range(2)
    ]
    failed = grain_test(copy_with(home, tmp_path / "other", *others), calendar, target)
    assert failed.returncode != 0 and f"Got {2 * months} results" in failed.stdout


@pytest.mark.parametrize(
    ("facts", "month", "key"),
    [
        ("fct_workforce_monthly", "month_start_date", "segment_key"),
        ("fct_span_of_control_monthly", "month_start_date", "manager_employee_key"),
    ],
)
def test_a_tables_grain_test_finds_every_duplicate_key(home, tmp_path, facts, month, key):
    """The workforce facts' grain test counts months as bits, the span of control's groups a
    hash of the key first; both then group only the suspect rows by their columns: a copied row,
    two rows with a null key and two with a null month are each one finding, a row differing in
    one key column is none, and neither is a row dated inside the same month (same bit, other
    key)."""
    one_row = f"select * from marts.{facts} order by all limit 1"
    failed = grain_test_after(
        home,
        tmp_path,
        facts,
        f"insert into marts.{facts} {one_row}",
        *[
            f"insert into marts.{facts} select * replace (null as {column}) from ({one_row})"
            for column in (key, key, month, month)
        ],
        f"insert into marts.{facts} select * replace ('other' as {key}) from ({one_row})",
        f"insert into marts.{facts} select * replace ({month} + 14 as {month}) from ({one_row})",
    )
    assert failed.returncode != 0 and "Got 3 results" in failed.stdout
