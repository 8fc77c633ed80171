"""Verzuim and the Poortwachter monitor against hand-computed values (tests/fixtures/absence.py),
built by the real pipeline: a part-timer sick 50% then 100%, spells crossing month and year ends,
a spell started before the period, pregnancy leave, a re-hire, a spell ending with the
employment, two spells 20 days apart (one case) and a spell longer than a year."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from metrics.published import PUBLISHABLE_FILE, connect_warehouse
from tests.dbt.conftest import ABSENCE_AND_SURVEY_GROUP
from tests.fixtures import absence
from tests.pipeline import kpi_json, read_only

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group(ABSENCE_AND_SURVEY_GROUP)]


@pytest.fixture(scope="module")
def home(absence_and_survey_home) -> Path:
    return absence_and_survey_home


@pytest.fixture(scope="module")
def warehouse(home):
    con = read_only(home)
    yield con
    con.close()


@pytest.mark.parametrize("month", list(absence.VERZUIM))
def test_verzuim_percentage_weights_incapacity_and_part_time(home, month):
    sick, employed = absence.VERZUIM[month]
    last_day = {"2024-03-01": "2024-03-31", "2025-01-01": "2025-01-31"}[month]
    [row] = kpi_json(home, "verzuim_pct,sick_fte_days,fte_days", "--from", month, "--to", last_day)
    assert row["sick_fte_days"] == pytest.approx(sick, abs=1e-6)
    assert row["fte_days"] == pytest.approx(employed, abs=1e-6)
    assert row["verzuim_pct"] == pytest.approx(sick / employed * 100, abs=1e-6)


def test_frequency_duration_and_compliance_for_a_year(home):
    [row] = kpi_json(
        home,
        "meldingsfrequentie,sick_spells,verzuimduur_avg,poortwachter_compliance_pct,"
        "poortwachter_overdue,nulverzuim_pct",
        "--from", "2024-01-01", "--to", "2024-12-31",
    )  # fmt: skip
    assert row["sick_spells"] == 10
    assert row["meldingsfrequentie"] == pytest.approx(absence.MELDINGSFREQUENTIE_2024, abs=1e-9)
    assert row["verzuimduur_avg"] == pytest.approx(absence.VERZUIMDUUR["2024"])
    assert row["poortwachter_compliance_pct"] == absence.COMPLIANCE["2024"]
    assert row["poortwachter_overdue"] == 1
    active, without = absence.NULVERZUIM[("year", "2024-01-01")]
    assert row["nulverzuim_pct"] == pytest.approx(100 * without / active)


def test_a_month_counts_durations_from_the_first_sick_day(home):
    [row] = kpi_json(
        home,
        "verzuimduur_avg,poortwachter_compliance_pct,nulverzuim_pct,meldingsfrequentie",
        "--from", "2025-01-01", "--to", "2025-01-31",
    )  # fmt: skip
    assert row["verzuimduur_avg"] == absence.VERZUIMDUUR["2025-01"]
    assert row["poortwachter_compliance_pct"] == absence.COMPLIANCE["2025-01"]
    active, without = absence.NULVERZUIM[("month", "2025-01-01")]
    assert row["nulverzuim_pct"] == pytest.approx(100 * without / active)
    # One spell (P11) started in January among 10 employed all month: x 12 for a month.
    assert row["meldingsfrequentie"] == pytest.approx(1 / 10 * 12)


def test_spells_by_duration_class_and_the_frequent_absence_signal(home):
    by_class = kpi_json(
        home, "sick_spells", "--from", "2024-01-01", "--to", "2024-12-31", "--by", "duration_class"
    )
    assert {r["duration_class"]: r["sick_spells"] for r in by_class} == (
        absence.SPELLS_2024_BY_CLASS
    )
    frequent = kpi_json(
        home, "frequent_absence_employees",
        "--from", "2024-10-01", "--to", "2025-02-28", "--grain", "month",
    )  # fmt: skip
    flagged = [r["month"] for r in frequent if r["frequent_absence_employees"]]
    assert flagged == absence.FREQUENT_ABSENCE_MONTHS
    [year] = kpi_json(
        home, "poortwachter_compliance_pct", "--from", "2023-01-01", "--to", "2023-12-31"
    )
    assert year["poortwachter_compliance_pct"] == absence.COMPLIANCE["2023"]


def test_every_milestone_has_its_deadline_and_status(warehouse):
    rows = warehouse.sql("""
        select cast(case_start_date as varchar), milestone, cast(due_date as varchar),
               milestone_status
        from marts.fct_poortwachter_milestones""").fetchall()
    actual = {
        (absence.CASE_STARTS[start], milestone): (due, status)
        for start, milestone, due, status in rows
    }
    assert actual == absence.MILESTONES_EXPECTED


def test_the_case_list_names_overdue_and_upcoming_milestones_without_medical_data(warehouse):
    rows = warehouse.sql("""
        select cast(case_start_date as varchar), milestone, action
        from marts.rpt_poortwachter_cases""").fetchall()
    assert {(absence.CASE_STARTS[start], m, a) for start, m, a in rows} == absence.CASE_LIST
    columns = {
        c[0]
        for c in warehouse.sql(
            "select column_name from information_schema.columns "
            "where table_name = 'rpt_poortwachter_cases'"
        ).fetchall()
    }
    assert not columns & {"employee_id", "birth_date", "diagnosis", "incapacity_pct"}
    keys = {r[0] for r in warehouse.sql("select employee_key from marts.rpt_poortwachter_cases")
            .fetchall()}  # fmt: skip
    assert keys and not keys & set(absence.PEOPLE)


def test_pregnancy_leave_is_recorded_but_is_not_verzuim(warehouse):
    [(leave, sick)] = warehouse.sql("""
        select sum(pregnancy_leave_days), sum(sick_days) from marts.fct_absence_monthly
        where month_start_date = '2024-10-01'""").fetchall()
    assert (leave, sick) == (31, 31)  # P4's leave; the sick days are P7's open spell


def test_the_sick_days_identity_fails_on_a_warehouse_that_breaks_it(home, tmp_path):
    """The dbt test that guards sick days <= employed days passes on the build and fails when a
    row claims more sick days than the month has employed days."""
    broken = tmp_path / "home"
    broken.mkdir()
    for name in ("warehouse.duckdb", PUBLISHABLE_FILE):
        (broken / name).write_bytes((home / name).read_bytes())

    def identity_test() -> subprocess.CompletedProcess:
        project = Path(__file__).parents[2] / "dbt_project"
        return subprocess.run(
            [str(Path(sys.executable).parent / "dbt"), "test", "--select",
             "assert_sick_days_never_exceed_employed_days", "--profiles-dir", str(project),
             "--target-path", str(tmp_path / "target")],
            cwd=project, capture_output=True, text=True, timeout=300,
            env={**os.environ, "PEOPLEMART_HOME": str(broken)},
        )  # fmt: skip

    assert identity_test().returncode == 0
    with connect_warehouse(broken / "warehouse.duckdb") as con:
        con.execute("""update marts.fct_absence_monthly set sick_days = 40
                       where month_start_date = '2024-03-01' and sick_days = 20""")
    failed = identity_test()
    assert failed.returncode != 0 and "FAIL 1" in failed.stdout
