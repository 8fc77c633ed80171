"""Engagement figures against hand-computed values (tests/fixtures/survey.py), built by the real
pipeline, and the anonymity rules on what `peoplemart kpi` and the published tables show."""

from pathlib import Path

import pytest

from tests.dbt.conftest import ABSENCE_AND_SURVEY_GROUP
from tests.dbt.grain import grain_test_after
from tests.fixtures import survey
from tests.pipeline import kpi, kpi_json, read_only

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group(ABSENCE_AND_SURVEY_GROUP)]


@pytest.fixture(scope="module")
def home(absence_and_survey_home) -> Path:
    return absence_and_survey_home


@pytest.fixture(scope="module")
def warehouse(home):
    con = read_only(home)
    yield con
    con.close()


def test_engagement_index_engaged_share_enps_and_response_rate(home):
    by_wave = {r["wave"]: r for r in kpi_json(
        home, "engagement_index,engaged_share,enps,response_rate,respondents")}  # fmt: skip
    w1 = by_wave["W1"]
    for metric in ("engagement_index", "engaged_share", "enps", "response_rate", "respondents"):
        assert w1[metric] == pytest.approx(survey.W1[metric]), metric
    assert w1["suppressed"] is False


def test_driver_scores(home):
    [row] = kpi_json(home, "driver_score", "--from", "2025-01-01", "--to", "2025-01-31")
    assert row["construct"] == "manager_support"
    assert row["driver_score"] == pytest.approx(survey.W1["manager_support"])


def test_a_wave_under_the_threshold_shows_no_figure_and_no_count(home):
    by_wave = {r["wave"]: r for r in kpi_json(home, "engagement_index,respondents,response_rate")}
    assert by_wave["W2"] == {
        "wave": "W2",
        "engagement_index": None,
        "respondents": None,
        "response_rate": None,
        "suppressed": True,
    }


def test_a_small_group_and_its_complement_are_suppressed(home):
    tenure = kpi_json(home, "engagement_index,respondents", "--by", "tenure_band")
    assert {r["tenure_band"]: r["suppressed"] for r in tenure if r["wave"] == "W1"} == {
        "<1y": True,
        "5-10y": True,  # W1 (6) minus it would otherwise reveal P5's answers
    }
    assert all(r["engagement_index"] is None and r["respondents"] is None for r in tenure)


def test_survey_metrics_are_never_mixed_with_others_or_split_by_two_org_levels(home):
    mixed = kpi(home, "engagement_index,headcount")
    assert mixed.returncode == 2 and "separately" in mixed.stderr
    grain = kpi(home, "enps", "--grain", "month")
    assert grain.returncode == 2 and "per wave" in grain.stderr
    drivers = kpi(home, "driver_score,respondents")
    assert drivers.returncode == 2 and "on its own" in drivers.stderr
    by_construct = kpi_json(home, "driver_score", "--by", "wave", "--by", "construct")
    assert [r["construct"] for r in by_construct] == ["manager_support"]


def test_respondent_level_rows_stay_private_and_anonymous_waves_unlinked(home):
    with read_only(home) as con:
        schemas = dict(
            con.sql("""select table_name, schema_name from duckdb_tables()
                                  where table_name like 'fct_survey_%'""").fetchall()
        )
        anonymous_links = con.sql("""select count(*) from survey_private.fct_survey_respondents
                                     where anonymity = 'anonymous' and job_family is not null
                                  """).fetchall()[0][0]
        published = con.sql("select * from survey.engagement_results").pl()
    assert schemas["fct_survey_respondents"] == "survey_private"
    assert anonymous_links == 0
    assert "employee_key" not in published.columns and "respondent_id" not in published.columns
    shown = published.filter(~published["is_suppressed"])
    assert shown.height > 0 and shown["respondents"].min() >= 5


def test_the_constructs_grain_test_counts_constructs_as_bits_and_finds_every_duplicate(
    home, tmp_path
):
    """Each respondent's constructs are counted as bits (macros/repeated_keys.sql): a copied row
    is one finding, two rows of a respondent with a null construct one more; a row with a
    construct the respondent did not have is none."""
    constructs = "int_survey_respondent_constructs"
    one_row = f"select * from intermediate.{constructs} order by all limit 1"
    failed = grain_test_after(
        home,
        tmp_path,
        constructs,
        f"insert into intermediate.{constructs} {one_row}",
        *[f"insert into intermediate.{constructs} select * replace (null as construct) "
          f"from ({one_row})"] * 2,
        f"insert into intermediate.{constructs} select * replace ('unasked' as construct) "
        f"from ({one_row})",
    )  # fmt: skip
    assert failed.returncode != 0 and "Got 2 results" in failed.stdout


def test_the_responses_grain_test_counts_items_as_bits_and_finds_every_duplicate(home, tmp_path):
    """The staged answers' items are counted as bits: an answer delivered twice is one finding,
    two answers of a respondent without an item one more; an answer to an item the respondent
    was not asked is none."""
    one_row = "select * from raw_survey.responses order by all limit 1"
    failed = grain_test_after(
        home,
        tmp_path,
        "stg_survey__responses",
        f"insert into raw_survey.responses {one_row}",
        *[f"insert into raw_survey.responses select * replace (null as item_id) "
          f"from ({one_row})"] * 2,
        "insert into raw_survey.responses select * replace ('unasked' as item_id) "
        f"from ({one_row})",
    )  # fmt: skip
    assert failed.returncode != 0 and "Got 2 results" in failed.stdout
