import datetime as dt

import polars as pl

from ingestion.casting import cast_text_columns
from ingestion.registry import find_spec

CONTRACTS = find_spec("hris", "contracts")


def cast(column: str, values: list[str | None], decimal_comma: bool = False):
    spec = CONTRACTS.column(column)
    frame = pl.DataFrame(
        {"_row_number": list(range(1, len(values) + 1)), column: values},
        schema={"_row_number": pl.Int64, column: pl.String},
    )
    typed, issues = cast_text_columns(frame, [spec], decimal_comma)
    return typed[column].to_list(), [(i.row_number, i.value) for i in issues]


def test_both_date_forms_parse_and_us_order_is_refused():
    values, issues = cast(
        "valid_from",
        ["2024-03-05", "05-03-2024", "5-3-2024", "2024-03-05 00:00:00", "03/05/2024", "31-02-2024"],
    )
    assert values[:4] == [dt.date(2024, 3, 5)] * 4
    assert values[4:] == [None, None]
    assert issues == [(5, "03/05/2024"), (6, "31-02-2024")]


def test_decimal_comma_file_reads_dutch_numbers_and_refuses_a_bare_point():
    values, issues = cast("hours_per_week", ["36,5", "1.234,5", "38", "36.5"], decimal_comma=True)
    assert values == [36.5, 1234.5, 38.0, None]
    assert issues == [(4, "36.5")]


def test_decimal_point_file_refuses_a_comma():
    values, issues = cast("hours_per_week", ["36.5", "36,5", " 40 "])
    assert values == [36.5, None, 40.0]
    assert issues == [(2, "36,5")]


def test_booleans_accept_dutch_words():
    values, issues = cast("is_concurrent", ["ja", "Nee", "true", "0", "misschien", None])
    assert values == [True, False, True, False, None, None]
    assert issues == [(5, "misschien")]


def test_empty_cells_are_null_without_an_issue():
    values, issues = cast("valid_to", ["", "  ", None])
    assert values == [None, None, None] and issues == []
