"""The contract at a glance (one polars query) may only ever say "passes" when pandera finds
nothing: checked on every generated extract and on random damage to each."""

import math

import pandera.polars as pa
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.readers import read_extract
from ingestion.registry import EXTRACTS
from ingestion.validate import _schema, passes_at_a_glance

NASTY = [None, math.nan, -1, 0, 1e9, 61, "??", "", "X", "2021-13", "1800-01-01"]


def pandera_passes(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> bool:
    try:
        schema.validate(frame, lazy=True)
        return True
    except pa.errors.SchemaErrors:
        return False


@pytest.fixture(scope="module")
def extracts(small_landing) -> dict[str, pl.DataFrame]:
    frames = {}
    for spec in EXTRACTS:
        paths = sorted(small_landing.glob(f"{spec.source}/*/{spec.entity}.*"))
        paths = [p for p in paths if p.suffix in (".csv", ".xlsx", ".parquet")]
        if paths:
            frame = read_extract(paths[-1], spec).frame.drop("_row_number")
            frames[spec.entity] = frame
    assert len(frames) >= 15
    return frames


def test_every_generated_extract_passes_at_a_glance_exactly_when_pandera_passes(extracts):
    for spec in EXTRACTS:
        if spec.entity in extracts:
            frame, schema = extracts[spec.entity], _schema(spec.contract)
            assert passes_at_a_glance(frame, schema) == pandera_passes(frame, schema), spec.entity


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_damage_never_passes_at_a_glance_when_pandera_finds_it(extracts, data):
    entity = data.draw(st.sampled_from(sorted(extracts)))
    spec = next(s for s in EXTRACTS if s.entity == entity)
    frame = extracts[entity]
    if frame.height == 0:
        return
    row = data.draw(st.integers(0, frame.height - 1))
    column = data.draw(st.sampled_from(frame.columns))
    value = data.draw(st.sampled_from(NASTY + [frame[column][0]]))  # a duplicate, too
    try:
        damaged = frame.with_columns(
            pl.when(pl.int_range(pl.len()) == row)
            .then(pl.lit(value, allow_object=False).cast(frame.schema[column], strict=False))
            .otherwise(pl.col(column))
            .alias(column)
        )
    except pl.exceptions.PolarsError:
        return
    schema = _schema(spec.contract)
    if passes_at_a_glance(damaged, schema):
        assert pandera_passes(damaged, schema), (entity, row, column, value)


@pytest.mark.parametrize(
    ("entity", "column", "value"),
    [
        ("contracts", "contract_type", "zzp"),  # unknown code
        ("contracts", "hours_per_week", 80.0),  # out of range
        ("contracts", "org_unit_id", None),  # required value missing
        ("employees", "employee_id", "duplicate"),  # key not unique (set on two rows)
        ("payroll", "period", "2021-13"),  # pattern
    ],
)
def test_each_kind_of_damage_sends_the_file_to_pandera(extracts, entity, column, value):
    frame = extracts[entity]
    rows = [0, 1] if value == "duplicate" else [0]
    damaged = frame.with_columns(
        pl.when(pl.int_range(pl.len()).is_in(rows))
        .then(pl.lit(value).cast(frame.schema[column]))
        .otherwise(pl.col(column))
        .alias(column)
    )
    schema = _schema(next(s for s in EXTRACTS if s.entity == entity).contract)
    assert passes_at_a_glance(frame, schema)
    assert not passes_at_a_glance(damaged, schema)
    assert not pandera_passes(damaged, schema)
