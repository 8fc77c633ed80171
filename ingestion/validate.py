"""Contract validation: pandera rules per file, privacy rules, and references between files."""

import functools
import re

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from ingestion.errors import RowIssue
from ingestion.privacy import bsn_like_rows
from ingestion.readers import ParsedFile
from ingestion.registry import ExtractSpec

BSN_REASON = (
    "privacy incident: value passes the BSN 11-proef; a BSN may not be delivered "
    "in this column (value not stored)"
)

_CHECK_REASONS = {
    "not_nullable": "required value is empty",
    "field_uniqueness": "duplicate value; the key must be unique in the file",
    "multiple_fields_uniqueness": "duplicate key; the key columns must be unique together",
}


def _reason(check: str) -> str:
    if check in _CHECK_REASONS:
        return _CHECK_REASONS[check]
    if check.startswith("isin("):
        return f"unknown code; allowed: {check[5:-1]}"
    if check.startswith("str_matches("):
        return f"does not match the expected pattern {check[12:-1]}"
    for prefix, words in (
        ("greater_than_or_equal_to(", "must be >= "),
        ("greater_than(", "must be > "),
        ("less_than_or_equal_to(", "must be <= "),
        ("less_than(", "must be < "),
    ):
        if check.startswith(prefix):
            return words + check[len(prefix) : -1]
    return f"fails rule: {check}"


# Pandera's built-in column checks as one polars expression each (what pandera's polars backend
# evaluates, per pandera/backends/polars/builtin_checks.py).
_COLUMN_RULES = {
    "isin": lambda col, s: col.is_in(s["allowed_values"]),
    "str_matches": lambda col, s: col.str.contains(_anchored(s["pattern"])),
    "greater_than": lambda col, s: col > s["min_value"],
    "greater_than_or_equal_to": lambda col, s: col >= s["min_value"],
    "less_than": lambda col, s: col < s["max_value"],
    "less_than_or_equal_to": lambda col, s: col <= s["max_value"],
}


def _anchored(pattern) -> str:
    text = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
    return text if text.startswith("^") else f"^{text}"


@functools.cache
def _schema(contract) -> pa.DataFrameSchema:
    return contract.to_schema()


def passes_at_a_glance(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> bool:
    """The whole contract in one polars query. True only when pandera would find nothing; any
    doubt (a failure, a rule not compiled here, a type that differs) returns False and pandera
    runs to name every failing row. Pandera checks column by column, a collect per rule: on a
    large delivery the clean case costs a quarter of the load."""
    rules = []
    for name, column in schema.columns.items():
        if name not in frame.columns:
            if column.required:
                return False
            continue
        if column.dtype is not None and frame.schema[name] != column.dtype.type:
            return False
        col = pl.col(name)
        if frame.schema[name].is_float():
            rules.append(~col.is_nan().any())  # NaN: pandera's own handling decides
        if not column.nullable:
            rules.append(~col.is_null().any())
        if column.unique:
            rules.append(~col.is_duplicated().any())
        for check in column.checks:
            rule = _COLUMN_RULES.get(check.name)
            if rule is None:
                return False
            rules.append(rule(col, check.statistics).fill_null(True).all())  # nulls: nullable
    if schema.unique:
        rules.append(~pl.struct(schema.unique).is_duplicated().any())
    rules = [rule.alias(f"rule_{i}") for i, rule in enumerate(rules)]
    if rules and not all(frame.select(rules).row(0)):
        return False
    lazy = frame.lazy()
    for check in schema.checks:
        verdict = check._check_fn(PolarsData(lazy)).collect().to_series()
        if not verdict.fill_null(True).all():
            return False
    return True


def contract_issues(parsed: ParsedFile, spec: ExtractSpec) -> list[RowIssue]:
    """Run the pandera contract lazily and turn every failure case into a row issue."""
    frame = parsed.frame
    if passes_at_a_glance(frame.drop("_row_number"), _schema(spec.contract)):
        return []
    try:
        spec.contract.validate(frame.drop("_row_number"), lazy=True)
        return []
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    already = {(i.row_number, i.column) for i in parsed.issues}
    row_numbers = frame["_row_number"]
    issues = []
    for failure_value, context, column, check, index in cases.select(
        "failure_case", "schema_context", "column", "check", "index"
    ).iter_rows():
        if index is None:
            continue  # schema-level failures (dtype) are already cast issues per cell
        row = int(row_numbers[index])
        if context == "DataFrameSchema":
            reason = _CHECK_REASONS.get(check, f"row breaks the rule: {check}")
            issues.append(RowIssue(row, None, None, reason))
            continue
        if (row, column) in already:
            continue
        issues.append(RowIssue(row, column, failure_value, _reason(check)))
    return issues


def privacy_issues(parsed: ParsedFile, spec: ExtractSpec) -> list[RowIssue]:
    text_columns = [c.name for c in spec.columns if c.dtype == pl.String]
    return [
        RowIssue(row, column, None, BSN_REASON)
        for row, column in bsn_like_rows(parsed.frame, text_columns)
    ]


def reference_issues(
    frame: pl.DataFrame, column: str, allowed: pl.Series, what: str
) -> list[RowIssue]:
    """Rows whose `column` value is not among `allowed` (nulls are left to the contract)."""
    orphans = frame.filter(
        pl.col(column).is_not_null() & ~pl.col(column).is_in(allowed.implode())
    ).select("_row_number", column)
    return [
        RowIssue(row, column, value, f"{column} '{value}' is not in {what}")
        for row, value in orphans.iter_rows()
    ]


# (entity, column, referenced entity, referenced column) within one HR snapshot.
HRIS_REFERENCES = (
    ("contracts", "employee_id", "employees", "employee_id"),
    ("contracts", "org_unit_id", "org_units", "org_unit_id"),
    ("contracts", "job_code", "jobs", "job_code"),
    ("terminations", "employee_id", "employees", "employee_id"),
    ("absences", "employee_id", "employees", "employee_id"),
    ("absence_milestones", "absence_id", "absences", "absence_id"),
    ("vacancies", "org_unit_id", "org_units", "org_unit_id"),
    ("vacancies", "job_code", "jobs", "job_code"),
)


def survey_response_issues(
    responses: pl.DataFrame, waves: pl.DataFrame, items: pl.DataFrame
) -> list[RowIssue]:
    """Anonymous waves carry no employee link; a score must lie on its item's scale."""
    issues = reference_issues(responses, "wave_id", waves["wave_id"], "the survey waves")
    issues += reference_issues(responses, "item_id", items["item_id"], "the survey items")
    anonymous = waves.filter(pl.col("anonymity") == "anonymous")["wave_id"]
    linked = responses.filter(
        pl.col("wave_id").is_in(anonymous.implode()) & pl.col("employee_id").is_not_null()
    )
    issues += [
        RowIssue(
            row, "employee_id", None, "employee_id given in an anonymous wave (value not stored)"
        )
        for row in linked["_row_number"]
    ]
    scored = responses.join(items.select("item_id", "scale_min", "scale_max"), on="item_id")
    off_scale = scored.filter(
        pl.col("score").is_not_null()
        & ((pl.col("score") < pl.col("scale_min")) | (pl.col("score") > pl.col("scale_max")))
    )
    issues += [
        RowIssue(row, "score", str(score), f"score outside the item's scale {lo}..{hi}")
        for row, score, lo, hi in off_scale.select(
            "_row_number", "score", "scale_min", "scale_max"
        ).iter_rows()
    ]
    return issues
