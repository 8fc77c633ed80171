"""AVG retention in the warehouse layers ingestion writes: people one day inside and one day past
their window, finance periods on both sides of theirs, quarantine by delivery age, and the wait
for frozen KPI periods on a first load.

The HR snapshot delivered on 2024-01-01 describes 2023-12-31: the HR window (2 years) runs back
to 2021-12-31 and the finance window (7 years) to 2016-12-31."""

import datetime as dt
from pathlib import Path

import pytest

from ingestion.load import Loader
from ingestion.privacy import Pseudonymiser
from ingestion.retention import (
    FROZEN_BOUNDARY,
    FROZEN_SCHEMA,
    RetentionPolicy,
    apply_retention,
    pending_keys,
    record_retention,
)
from tests.conftest import TEST_KEY

CONTRACT_HEADER = (
    "contract_id,employee_id,valid_from,valid_to,org_unit_id,job_code,cost_center,"
    "contract_type,hours_per_week,fulltime_hours,monthly_salary,manager_employee_id,"
    "is_concurrent\n"
)


def write_hris(folder: Path, extra_contract: str = "") -> None:
    folder.mkdir(parents=True)
    (folder / "org_units.csv").write_text("org_unit_id,name,parent_org_unit_id\nR,Root,\n")
    (folder / "jobs.csv").write_text("job_code,job_title,job_family,job_level\nJ1,Analyst,F,8\n")
    (folder / "employees.csv").write_text(
        "employee_id,birth_date,gender,original_hire_date\n"
        "INSIDE,1980-01-01,F,2019-01-01\n"
        "PAST,1981-01-01,M,2019-01-01\n"
        "ACTIVE,1982-01-01,F,2019-01-01\n"
    )
    (folder / "contracts.csv").write_text(
        CONTRACT_HEADER + "C1,INSIDE,2019-01-01,2021-12-31,R,J1,K1,permanent,36,36,3000,,\n"
        "C2,PAST,2019-01-01,2021-12-30,R,J1,K1,permanent,36,36,3000,,\n"
        "C3,ACTIVE,2019-01-01,,R,J1,K1,permanent,36,36,3000,PAST,\n" + extra_contract
    )
    (folder / "terminations.csv").write_text(
        "employee_id,termination_date,reason_code,initiative,is_regretted\n"
        "INSIDE,2021-12-31,other_job,employee,false\n"
        "PAST,2021-12-30,other_job,employee,false\n"
    )
    (folder / "absences.csv").write_text(
        "absence_id,employee_id,start_date,end_date,incapacity_pct,absence_type\n"
        "S1,PAST,2021-01-04,2021-03-31,100,sick\nS2,INSIDE,2021-01-04,2021-03-31,100,sick\n"
    )
    (folder / "absence_milestones.csv").write_text(
        "absence_id,milestone,completed_date\nS1,problem_analysis,2021-02-20\n"
        "S2,problem_analysis,2021-02-21\n"
    )
    (folder / "vacancies.csv").write_text(
        "vacancy_id,org_unit_id,job_code,fte,opened_date,filled_date,cancelled_date,"
        "hired_employee_id,is_internal_hire\n"
        "V1,R,J1,1.0,2018-11-01,2019-01-01,,PAST,false\n"
    )


def write_files(folder: Path, **files: str) -> None:
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / f"{name}.csv").write_text(text)


def write_landing(landing: Path) -> Path:
    # Two older snapshots, one just past the HR window and one just inside, each with a row
    # that goes to quarantine (an impossible date).
    for delivery in ("20211230", "20211231"):
        bad = f"C{delivery},ACTIVE,2019-13-45,,R,J1,K1,permanent,36,36,3000,,\n"
        write_hris(landing / "hris" / delivery, bad)
    write_hris(landing / "hris" / "20240101")
    write_files(
        landing / "survey" / "20210601",
        waves="wave_id,name,start_date,end_date,anonymity\n"
        "W1,Spring,2021-05-01,2021-05-20,confidential\n",
        items="item_id,construct,text,scale_min,scale_max,is_reverse_scored\n"
        "E1,engagement,I enjoy my work,1,5,false\n",
        invitations="wave_id,org_unit_id,invited\nW1,R,3\n",
        responses="wave_id,respondent_id,org_unit_id,employee_id,item_id,score\n"
        "W1,r1,R,INSIDE,E1,4\nW1,r2,R,PAST,E1,3\nW1,r3,R,ACTIVE,E1,5\n",
    )
    write_files(
        landing / "finance" / "20240105",
        cost_centers="cost_center,name,org_unit_id,valid_from,valid_to\nK1,Root,R,,\n",
        payroll="period,cost_center,paid_fte,paid_headcount,gross_salary_cost,employer_charges\n"
        "2016-11,K1,3,3,9000,2000\n2016-12,K1,3,3,9000,2000\n2023-12,K1,1,1,3000,700\n",
        gl_entries="entry_id,booking_date,period,cost_center,account,account_class,amount\n"
        "G1,2016-11-30,2016-11,K1,8000,revenue,100.00\n"
        "G2,2016-12-31,2016-12,K1,8000,revenue,200.00\n"
        "G3,2023-12-31,2023-12,K1,8000,revenue,300.00\n",
        formation="year,cost_center,job_family,budget_fte\n2015,K1,F,3\n2016,K1,F,3\n2023,K1,F,1\n",
    )
    return landing


def key(name: str) -> str:
    return Pseudonymiser(TEST_KEY).pseudonym(name)


def people_in(con, table: str, column: str = "employee_id") -> set[str]:
    return {r[0] for r in con.sql(f"select distinct {column} from {table}").fetchall()}


def freeze_kpi_periods_before(con, day: dt.date) -> None:
    """What the KPI tables step leaves behind after a run (metrics/kpi_tables.py)."""
    con.execute(f"create schema if not exists {FROZEN_SCHEMA}")
    con.execute(f"create table {FROZEN_BOUNDARY} (frozen_before date, frozen_at timestamp)")
    con.execute(f"insert into {FROZEN_BOUNDARY} values (?, current_timestamp)", [day])


@pytest.fixture
def loaded(tmp_path, loader, warehouse):
    report = loader.load_landing(write_landing(tmp_path / "landing"))
    assert sum(f.rows_quarantined for f in report.files) == 2
    return warehouse


def test_a_person_one_day_past_the_window_leaves_every_raw_layer(loaded, tmp_path):
    con = loaded
    freeze_kpi_periods_before(con, dt.date(2022, 3, 1))
    report = apply_retention(con, RetentionPolicy(), run_id="r1", home=tmp_path / "home")
    assert report.as_of == "2023-12-31" and report.hr_horizon == "2021-12-31"
    assert report.people_removed == 1 and report.removed_keys == [key("PAST")]
    everyone = {key("INSIDE"), key("ACTIVE")}
    for table in ("raw_hris.employees", "raw_hris.contracts", "restricted.hris_employees"):
        assert people_in(con, table) == everyone, table
    assert people_in(con, "raw_hris.terminations") == {key("INSIDE")}
    assert people_in(con, "raw_hris.absences") == {key("INSIDE")}
    # A milestone belongs to its absence: it goes with the person.
    assert people_in(con, "raw_hris.absence_milestones", "absence_id") == {"S2"}
    assert people_in(con, "raw_survey.responses") == everyone
    # References to the person from other rows are emptied; the rows themselves stay.
    assert people_in(con, "raw_hris.contracts", "manager_employee_id") == {None}
    assert people_in(con, "raw_hris.vacancies", "hired_employee_id") == {None}
    # (Byte-identical files of the three snapshots were loaded once.)
    assert con.sql("select count(*) from raw_hris.vacancies").fetchall() == [(1,)]
    # The removal is logged per table (no keys), and the key waits for the published copies.
    logged = dict(con.sql("select table_name, rows_removed from ingest.retention_log").fetchall())
    assert logged["raw_hris.employees"] == 1 and logged["raw_hris.contracts"] == 3
    assert logged["raw_survey.responses"] == 1
    record_retention(tmp_path / "home", "r1", report)
    assert pending_keys(tmp_path / "home") == [key("PAST")]
    assert key("PAST") not in (tmp_path / "home" / "retention" / "r1.json").read_text()


def test_finance_periods_and_quarantine_go_with_their_age(loaded):
    con = loaded
    freeze_kpi_periods_before(con, dt.date(2022, 3, 1))
    apply_retention(con, RetentionPolicy(), run_id="r1")
    # 2016-12 ends on 2016-12-31, the finance horizon: one day inside. 2016-11 is past.
    assert people_in(con, "raw_finance.payroll", "period") == {"2016-12", "2023-12"}
    assert people_in(con, "raw_finance.gl_entries", "period") == {"2016-12", "2023-12"}
    assert people_in(con, "raw_finance.formation", "year") == {2016, 2023}
    # The delivery of 2021-12-30 is past the HR window, that of 2021-12-31 is not.
    assert people_in(con, "ingest.quarantine", "delivery_id") == {"20211231"}


def test_on_a_first_load_people_wait_until_their_periods_are_frozen(loaded):
    con = loaded
    report = apply_retention(con, RetentionPolicy(), run_id="r1")
    assert report.people_removed == 0 and report.people_waiting_for_frozen_periods == 1
    assert key("PAST") in people_in(con, "raw_hris.employees")
    assert people_in(con, "raw_finance.payroll", "period") == {"2016-11", "2016-12", "2023-12"}


def test_the_windows_and_the_clock_are_configurable(loaded):
    con = loaded
    freeze_kpi_periods_before(con, dt.date(2030, 1, 1))
    # One year of HR data, counted from 2023-01-01: INSIDE and PAST both ended before 2022-01-01.
    report = apply_retention(
        con, RetentionPolicy(hr_years=1, as_of=dt.date(2023, 1, 1)), run_id="r1"
    )
    assert report.hr_horizon == "2022-01-01" and report.people_removed == 2
    assert people_in(con, "raw_hris.employees") == {key("ACTIVE")}


def test_a_delivery_dated_in_the_future_cannot_move_the_clock_past_today(tmp_path, loader):
    landing = write_landing(tmp_path / "landing")
    write_hris(landing / "hris" / "20991231", "C9,ACTIVE,2020-01-01,,R,J1,K1,on_call,8,36,300,,\n")
    loader.load_landing(landing)
    freeze_kpi_periods_before(loader.con, dt.date(2099, 1, 1))
    report = apply_retention(loader.con, RetentionPolicy(), run_id="r1")
    assert report.as_of == str(dt.date.today())
    # Today, 2 years back: both leavers of 2021 are past; nobody else.
    assert report.people_removed == 2


def test_a_person_removed_is_removed_again_when_a_delivery_brings_them_back(loaded, tmp_path):
    con = loaded
    freeze_kpi_periods_before(con, dt.date(2022, 3, 1))
    apply_retention(con, RetentionPolicy(), run_id="r1")
    # The next snapshot repeats every file byte for byte but the terminations (new bytes, so
    # loaded): the removed person's termination arrives again, without their contracts.
    landing = tmp_path / "landing"
    again = landing / "hris" / "20240201"
    write_hris(again)
    (again / "terminations.csv").write_text(
        (again / "terminations.csv").read_text() + "ACTIVE,2024-01-31,other_job,employee,false\n"
    )
    for name in ("employees", "contracts", "org_units", "jobs", "absences", "vacancies"):
        (again / f"{name}.csv").write_bytes(
            (landing / "hris" / "20240101" / f"{name}.csv").read_bytes()
        )
    Loader(con, Pseudonymiser(TEST_KEY), run_id="r2").load_landing(landing)
    assert key("PAST") in people_in(con, "raw_hris.terminations")
    report = apply_retention(con, RetentionPolicy(), run_id="r2")
    assert report.people_removed_again == 1 and key("PAST") in report.removed_keys
    # The new snapshot moved the clock a month: INSIDE is now one month past the window.
    assert report.as_of == "2024-01-31" and report.people_removed == 1
    assert key("PAST") not in people_in(con, "raw_hris.terminations")
    # Only a digest of the pseudonym is kept to recognise them.
    assert con.sql("select count(*) from ingest.retention_removed").fetchall() == [(2,)]
    assert key("PAST") not in str(con.sql("select * from ingest.retention_removed").fetchall())


def test_a_full_snapshot_sending_a_removed_persons_history_again_is_a_removal_again(
    loaded, tmp_path
):
    """The next snapshot sends everyone's history again, PAST's contracts and termination
    included (new bytes: a contract was added). PAST goes again, counted as removed again, with
    no second digest; only INSIDE, removed for the first time, waits for the published copies."""
    con, home = loaded, tmp_path / "home"
    freeze_kpi_periods_before(con, dt.date(2022, 3, 1))
    first = apply_retention(con, RetentionPolicy(), run_id="r1", home=home)
    assert first.people_removed == 1 and first.people_removed_again == 0
    (home / "retention" / "pending_keys.json").unlink()  # what r1's publication does
    landing = tmp_path / "landing"
    write_hris(
        landing / "hris" / "20240201", "C4,ACTIVE,2024-01-01,,R,J1,K1,permanent,8,36,900,,true\n"
    )
    Loader(con, Pseudonymiser(TEST_KEY), run_id="r2").load_landing(landing)
    assert key("PAST") in people_in(con, "raw_hris.contracts")
    report = apply_retention(con, RetentionPolicy(), run_id="r2", home=home)
    assert report.as_of == "2024-01-31"
    assert report.people_removed == 1 and report.people_removed_again == 1
    assert sorted(report.removed_keys) == sorted([key("PAST"), key("INSIDE")])
    assert people_in(con, "raw_hris.contracts") == {key("ACTIVE")}
    assert pending_keys(home) == [key("INSIDE")]
    assert con.sql("select count(*) from ingest.retention_removed").fetchall() == [(2,)]
