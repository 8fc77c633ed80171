"""Homes shared by the dbt test modules: the survey fixture is the absence fixture's organisation
plus a survey, so one pipeline run serves the absence and the engagement tests (both modules in
one xdist group, so one worker builds it once)."""

from pathlib import Path

import pytest

from tests.fixtures import survey
from tests.pipeline import built_home

ABSENCE_AND_SURVEY_GROUP = "absence_and_survey"


@pytest.fixture(scope="session")
def absence_and_survey_home(tmp_path_factory) -> Path:
    return built_home(tmp_path_factory, "absence_and_survey", survey.write_landing)
