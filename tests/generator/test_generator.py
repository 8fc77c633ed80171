"""The synthetic organisation: deterministic, in every format, and realistic enough for the KPIs."""

import datetime as dt
import hashlib
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from generator.deliveries import Generator, GeneratorConfig, generate
from generator.organisation import UNMAPPED_COST_CENTER, build_organisation


def digest_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path):
    config = dict(employees=60, years=1, start=dt.date(2023, 1, 1), snapshots=1)
    generate(GeneratorConfig(out=tmp_path / "a", seed=3, **config))
    generate(GeneratorConfig(out=tmp_path / "b", seed=3, **config))
    generate(GeneratorConfig(out=tmp_path / "c", seed=4, **config))
    assert digest_tree(tmp_path / "a") == digest_tree(tmp_path / "b")
    assert digest_tree(tmp_path / "a") != digest_tree(tmp_path / "c")


@pytest.fixture(scope="module")
def demo_like(tmp_path_factory) -> Path:
    """The default organisation (2,000 employees, 5 years): what the KPIs must find meaningful."""
    out = tmp_path_factory.mktemp("demo") / "landing"
    generate(GeneratorConfig(out=out))
    return out


@pytest.fixture(scope="module")
def hr(demo_like) -> duckdb.DuckDBPyConnection:
    snapshot = sorted((demo_like / "hris").iterdir())[-1]
    con = duckdb.connect()
    con.execute(f"""create table contracts as select * from read_csv('{snapshot}/contracts.csv',
        delim=';', decimal_separator=',', dateformat='%d-%m-%Y', encoding='latin-1')""")
    con.execute(
        f"create table terminations as select * from read_csv('{snapshot}/terminations.csv')"
    )
    con.execute(f"create table absences as select * from '{snapshot}/absences.parquet'")
    con.execute(
        f"create table milestones as select * from read_csv('{snapshot}/absence_milestones.csv')"
    )
    org = pl.read_excel(snapshot / "org_units.xlsx")
    con.register("org_frame", org)
    con.execute("create table org_units as select * from org_frame")
    return con


def headcount_mid_year(hr, year: int) -> int:
    return hr.execute(f"""select count(distinct personeelsnummer) from contracts
        where soort_contract <> 'external' and ingangsdatum <= date '{year}-07-01'
          and coalesce(einddatum, date '2100-01-01') >= date '{year}-07-01'""").fetchall()[0][0]


@pytest.mark.parametrize("year", [2022, 2023, 2024])
def test_annual_turnover_is_ten_to_fifteen_percent_with_every_kind_of_exit(hr, year):
    leavers, voluntary, regretted, involuntary = hr.execute(f"""
        select count(*), count(*) filter (initiative = 'employee'),
               count(*) filter (is_regretted), count(*) filter (initiative = 'employer')
        from terminations where year(termination_date) = {year}""").fetchall()[0]
    turnover = leavers / headcount_mid_year(hr, year) * 100
    assert 10 <= turnover <= 15
    assert voluntary > involuntary > 0 and 0 < regretted < voluntary


@pytest.mark.parametrize("year", [2022, 2024])
def test_sick_leave_is_near_the_dutch_average(hr, year):
    sick_days = hr.execute(f"""
        select sum((least(coalesce(end_date, date '{year}-12-31'), date '{year}-12-31')
                    - greatest(start_date, date '{year}-01-01') + 1) * incapacity_pct / 100)
        from absences where absence_type = 'sick' and start_date <= date '{year}-12-31'
          and coalesce(end_date, date '2100-01-01') >= date '{year}-01-01'""").fetchall()[0][0]
    percentage = sick_days / (headcount_mid_year(hr, year) * 365) * 100
    assert 3.5 <= percentage <= 7


def test_spells_have_every_duration_class_partial_recovery_pregnancy_and_open_cases(hr):
    classes = dict(
        hr.execute("""
        select case when days <= 14 then 'short' when days <= 91 then 'medium'
                    when days <= 365 then 'long' else 'extra_long' end, count(*)
        from (select absence_id, max(coalesce(end_date, date '2025-12-31')) - min(start_date) + 1
                     as days
              from absences where absence_type = 'sick' group by absence_id)
        group by 1""").fetchall()
    )
    assert set(classes) == {"short", "medium", "long", "extra_long"}
    assert classes["short"] > classes["medium"] > classes["long"] > classes["extra_long"]
    partial, pregnancy, ongoing = hr.execute("""
        select count(*) filter (incapacity_pct < 100),
               count(distinct absence_id) filter (absence_type = 'pregnancy_leave'),
               count(*) filter (end_date is null) from absences""").fetchall()[0]
    assert partial > 0 and pregnancy > 0 and ongoing > 0


def test_poortwachter_milestones_are_mostly_on_time_some_late_some_missing(hr):
    on_time, late, due = hr.execute("""
        with spells as (
            select absence_id, min(start_date) as first_day,
                   max(coalesce(end_date, date '2025-12-31')) as last_day
            from absences where absence_type = 'sick' group by absence_id)
        select count(*) filter (m.completed_date <= s.first_day + 41),
               count(*) filter (m.completed_date > s.first_day + 41),
               (select count(*) from spells where last_day - first_day + 1 >= 35)
        from milestones m join spells s using (absence_id)
        where m.milestone = 'problem_analysis'""").fetchall()[0]
    assert on_time > 0.7 * due and late > 0 and on_time + late < due


def test_contracts_show_part_time_cao_weeks_changes_moves_and_rehires(hr):
    part_time, weeks, types = hr.execute("""
        select avg((uren_per_week < fulltime_uren)::int), list(distinct fulltime_uren),
               list(distinct soort_contract) from contracts""").fetchall()[0]
    assert 0.3 < part_time < 0.7
    assert sorted(weeks) == [36.0, 38.0, 40.0] or len(weeks) >= 2
    assert set(types) == {"permanent", "fixed_term", "on_call", "intern", "external"}
    moves = hr.execute("""
        select count(*) from (select personeelsnummer, afdeling, lag(afdeling) over w as before,
                                     functie, lag(functie) over w as job_before
                              from contracts where not coalesce(nevenfunctie = 'ja', false)
                              window w as (partition by personeelsnummer order by ingangsdatum))
        where afdeling <> before or functie <> job_before""").fetchall()[0][0]
    rehires = hr.execute(
        "select count(*) from (select employee_id from terminations group by 1 having count(*) > 1)"
    ).fetchall()[0][0]
    assert moves > 100 and rehires > 10


def test_the_org_tree_is_three_to_four_levels_deep_with_managers(hr):
    depth = hr.execute("""
        with recursive tree as (
            select org_unit_id, 1 as level from org_units where parent_org_unit_id is null
            union all
            select child.org_unit_id, tree.level + 1 from org_units child
            join tree on child.parent_org_unit_id = tree.org_unit_id)
        select max(level) from tree""").fetchall()[0][0]
    managed = hr.execute("select avg((manager_employee_id is not null)::int) from org_units")
    assert depth in (3, 4) and managed.fetchall()[0][0] > 0.8


def test_every_format_and_dialect_is_delivered(demo_like):
    suffixes = {p.suffix for p in demo_like.rglob("*") if p.is_file()}
    assert {".csv", ".xlsx", ".parquet", ".json"} <= suffixes
    heads = [p.read_bytes()[:200] for p in demo_like.rglob("*.csv")]
    assert any(h.startswith(b"\xef\xbb\xbf") for h in heads)
    assert any(b";" in h.split(b"\n")[0] and b"personeelsnummer" in h for h in heads)
    assert any(b"," in h.split(b"\n")[0] and b"contract_id" in h for h in heads)
    sources = {p.name for p in demo_like.iterdir()}
    assert {"hris", "survey", "finance", "planning"} <= sources


def test_leavers_are_more_likely_in_low_engagement_teams(demo_like, hr):
    first_wave = sorted((demo_like / "survey").iterdir())[0]
    responses = pl.read_parquet(first_wave / "responses.parquet")
    hr.register("responses", responses)
    correlation = hr.execute("""
        with engagement as (
            select org_unit_id, avg(score) as score, count(distinct respondent_id) as n
            from responses where item_id like 'ENG0%' and item_id <> 'ENG05' group by 1),
        team_of as (
            select personeelsnummer, afdeling from contracts
            where ingangsdatum <= date '2021-03-01'
              and coalesce(einddatum, date '2100-01-01') >= date '2021-03-01'),
        leavers as (
            select afdeling, count(*) as leavers from terminations t
            join team_of on team_of.personeelsnummer = t.employee_id
            where termination_date between date '2021-03-01' and date '2022-02-28' group by 1)
        select corr(e.score, coalesce(l.leavers, 0) / e.n)
        from engagement e left join leavers l on l.afdeling = e.org_unit_id
        where e.n >= 5""").fetchall()[0][0]
    assert correlation < -0.1


def test_payroll_matches_hr_except_for_the_planted_differences(demo_like):
    planted = pl.read_csv(demo_like / ".truth" / "planted_payroll_differences.csv")
    kinds = set(planted["kind"])
    assert kinds == {"leaver_paid_one_month_late", "unmapped_cost_center"}
    payroll = pl.concat(
        [pl.read_csv(p / "payroll.csv") for p in sorted((demo_like / "finance").iterdir())]
    )
    assert UNMAPPED_COST_CENTER in set(payroll["cost_center"])


def test_an_unfilled_vacancy_of_two_chunks_gets_two_ids():
    """A large organisation is simulated in chunks of slots (50,000 by default) and a unit's slots
    are spread over every chunk. Found at 1,000,000 employees: two chunks gave an unfilled
    vacancy of the same day, unit and job the same id (3,670 times), and ingestion rightly
    quarantined both."""
    unfilled = pl.DataFrame(
        {
            "org_unit_id": ["ORG0004"],
            "job_code": ["ICT02"],
            "fte": [1.0],
            "opened": [19_600],
            "filled": pl.Series([None], dtype=pl.Int64),
            "hired_person": pl.Series([None], dtype=pl.Int64),
            "is_internal_hire": pl.Series([None], dtype=pl.Boolean),
            "cancelled": [19_645],
        }
    )
    ids = [Generator.vacancy_rows(unfilled, 20_000, chunk)["vacancy_id"][0] for chunk in (0, 1)]
    assert ids[0] != ids[1]
    assert all(i.startswith("VAC19600-ORG0004-ICT02-") for i in ids)


def test_the_boards_cost_center_is_no_units_even_at_a_million_employees():
    """Found at 1,000,000 employees: department 8,989 got KP9990, the board's cost center that
    HR does not know, and the finance extract carried it twice."""
    organisation = build_organisation(
        1_000_000, np.datetime64("2016-01-01"), np.datetime64("2025-12-31"),
        np.random.default_rng(1),
    )  # fmt: skip
    codes = organisation.units["cost_center"]
    assert UNMAPPED_COST_CENTER not in set(codes)
    assert organisation.units.height > 80_000


def test_reports_follow_their_units_new_manager_and_keep_their_pay(hr):
    """A new manager gets a new contract row for each report (as HR systems record it): only the
    manager changes, pay and all else stay, and no row repeats the one before. What stays stale
    is the days a post is vacant, some late updates and a few never made: a small share, which
    the warehouse reports."""
    changes, pay_changed, no_change = hr.execute("""
        with sequenced as (
            select *, lag(leidinggevende) over w as manager_before,
                   lag(einddatum) over w as end_before,
                   lag(bruto_maandsalaris) over w as pay_before,
                   lag(afdeling) over w as unit_before, lag(functie) over w as job_before,
                   lag(uren_per_week) over w as hours_before,
                   lag(soort_contract) over w as type_before
            from contracts where not coalesce(nevenfunctie = 'ja', false)
            window w as (partition by personeelsnummer order by ingangsdatum))
        select count(*) filter (where leidinggevende is distinct from manager_before),
            count(*) filter (where leidinggevende is distinct from manager_before
                and bruto_maandsalaris <> pay_before),
            count(*) filter (where leidinggevende is not distinct from manager_before
                and ingangsdatum = end_before + 1)
        from sequenced
        where afdeling = unit_before and functie = job_before and uren_per_week = hours_before
            and soort_contract = type_before""").fetchall()[0]
    # On the snapshot day: reports whose contract names a manager without a contract that day.
    stale_share = hr.execute("""
        with today as (select max(ingangsdatum) as day from contracts),
        running as (
            select c.* from contracts as c, today
            where c.ingangsdatum <= today.day and coalesce(c.einddatum, today.day) >= today.day)
        select avg(case when managers.personeelsnummer is null then 1.0 else 0.0 end)
        from running as reports
        left join (select distinct personeelsnummer from running) as managers
            on managers.personeelsnummer = reports.leidinggevende
        where reports.leidinggevende is not null and reports.soort_contract <> 'external'
        """).fetchall()[0][0]
    assert changes > 200 and pay_changed == 0 and no_change == 0
    # 14 % with the manager a contract started with kept until it ended; 2 % now.
    assert 0 < stale_share < 0.05
