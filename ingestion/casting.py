"""Turn the text cells of an extract into the contract's types, one reason per cell that fails.

Both accepted date forms are read in every file: `YYYY-MM-DD` and `D-M-YYYY` cannot be mistaken
for each other, while `M-D-YYYY` is never accepted. Decimals follow the file's dialect: in a
decimal-comma file `1.234,5` is 1234.5 and a bare `36.5` is refused as ambiguous.
"""

import polars as pl

from ingestion.errors import RowIssue
from ingestion.registry import ColumnSpec

_TRUE = ["true", "1", "yes", "y", "ja", "j", "waar", "t"]
_FALSE = ["false", "0", "no", "n", "nee", "onwaar", "f"]
_DUTCH_THOUSANDS = r"^-?\d{1,3}(\.\d{3})+(,\d+)?$"


def _parse_date(text: pl.Expr) -> pl.Expr:
    day_only = text.str.replace(r"[ T]00:00(:00(\.0+)?)?$", "")
    return pl.coalesce(
        day_only.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        day_only.str.strptime(pl.Date, "%d-%m-%Y", strict=False),
    )


def _parse_datetime(text: pl.Expr) -> pl.Expr:
    return pl.coalesce(
        text.str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S%.f", strict=False),
        text.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S%.f", strict=False),
        text.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M", strict=False),
        text.str.strptime(pl.Datetime("us"), "%d-%m-%Y %H:%M:%S", strict=False),
        text.str.strptime(pl.Datetime("us"), "%d-%m-%Y %H:%M", strict=False),
        _parse_date(text).cast(pl.Datetime("us")),
    )


def _parse_number(text: pl.Expr, decimal_comma: bool) -> pl.Expr:
    if decimal_comma:
        normalised = (
            pl.when(text.str.contains(_DUTCH_THOUSANDS))
            .then(text.str.replace_all(".", "", literal=True))
            .when(text.str.contains(".", literal=True))
            .then(pl.lit(None, pl.String))
            .otherwise(text)
            .str.replace(",", ".", literal=True)
        )
    else:
        normalised = pl.when(text.str.contains(",", literal=True)).then(None).otherwise(text)
    return normalised.cast(pl.Float64, strict=False)


def _reason(column: ColumnSpec, decimal_comma: bool) -> str:
    if column.dtype == pl.Date:
        return "not a valid date (expected YYYY-MM-DD or DD-MM-YYYY)"
    if isinstance(column.dtype, pl.Datetime):
        return "not a valid timestamp (expected YYYY-MM-DD HH:MM:SS)"
    if column.dtype == pl.Boolean:
        return "not a boolean (expected true/false, ja/nee, 1/0)"
    mark = "decimal comma, e.g. 36,5" if decimal_comma else "decimal point, e.g. 36.5"
    if column.dtype == pl.Int64:
        return "not a whole number"
    return f"not a number in this file's dialect ({mark})"


def _typed(column: ColumnSpec, decimal_comma: bool) -> pl.Expr:
    text = pl.col(column.name)
    if column.dtype == pl.String:
        return text
    if column.dtype == pl.Date:
        return _parse_date(text)
    if isinstance(column.dtype, pl.Datetime):
        return _parse_datetime(text)
    if column.dtype == pl.Boolean:
        lowered = text.str.to_lowercase()
        return (
            pl.when(lowered.is_in(_TRUE))
            .then(True)
            .when(lowered.is_in(_FALSE))
            .then(False)
            .otherwise(None)
        )
    number = _parse_number(text, decimal_comma)
    if column.dtype == pl.Int64:
        return (
            pl.when(number == number.round(0))
            .then(number)
            .otherwise(None)
            .cast(pl.Int64, strict=False)
        )
    return number


def cast_text_columns(
    frame: pl.DataFrame, columns: list[ColumnSpec], decimal_comma: bool, typed_source: bool = False
) -> tuple[pl.DataFrame, list[RowIssue]]:
    """Cast string columns to their contract type; a cell that does not parse becomes null + issue.

    Columns that already have their contract type (typed Parquet) pass through untouched, and
    text from a typed source is taken as written: padding is a text-export artefact.
    """
    issues: list[RowIssue] = []
    text_columns = [c for c in columns if frame.schema[c.name] == pl.String]
    stripped = frame.with_columns(
        (pl.col(c.name) if typed_source else pl.col(c.name).str.strip_chars()).alias(c.name)
        for c in text_columns
    )
    stripped = stripped.with_columns(
        pl.when(pl.col(c.name).str.len_bytes() > 0).then(pl.col(c.name)).alias(c.name)
        for c in text_columns
    )
    typed = stripped.with_columns(_typed(c, decimal_comma).alias(c.name) for c in text_columns)
    for column in text_columns:
        if column.dtype == pl.String:
            continue
        failed = stripped.filter(
            pl.col(column.name).is_not_null() & typed[column.name].is_null()
        ).select("_row_number", column.name)
        reason = _reason(column, decimal_comma)
        issues.extend(
            RowIssue(row, column.name, value, reason) for row, value in failed.iter_rows()
        )
    return typed, issues
