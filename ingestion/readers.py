"""File -> canonical polars frame: format and dialect detection, header aliases, type casting.

A reader never drops a row: every data record it sees is either in `frame` or has an issue,
and a file it cannot read at all raises FileRejected.
"""

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ingestion import dialect
from ingestion.casting import cast_text_columns
from ingestion.errors import FileRejected, RowIssue
from ingestion.privacy import looks_medical, normalise_header
from ingestion.registry import PERSONAL_COLUMN_ALIASES, ExtractSpec

FORMATS = ("csv", "xlsx", "parquet")


@dataclass
class ParsedFile:
    frame: pl.DataFrame  # canonical contract columns (typed) + `_row_number`
    rows_read: int
    issues: list[RowIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dialect: str = ""


class _HeaderMap:
    """Maps normalised header cells to contract columns for one extract."""

    def __init__(self, spec: ExtractSpec):
        self.spec = spec
        self.lookup: dict[str, str] = {}
        for column in spec.columns:
            self.lookup[column.name] = column.name
            for alias in column.aliases:
                self.lookup.setdefault(alias, column.name)
        self.personal = {c: c for c in spec.dropped_columns}
        if spec.dropped_columns:
            self.personal |= {
                a: c for a, c in PERSONAL_COLUMN_ALIASES.items() if c in spec.dropped_columns
            }

    def recognised(self, header: list[str]) -> int:
        return sum(normalise_header(h) in self.lookup for h in header)

    def resolve(self, header: list[str], file_name: str) -> tuple[dict[str, str], list[str]]:
        """Return ({original header: canonical column}, notes); refuse unusable headers."""
        mapping: dict[str, str] = {}
        notes: list[str] = []
        seen: dict[str, str] = {}
        for original in header:
            normalised = normalise_header(original)
            canonical = self.lookup.get(normalised)
            if canonical is None:
                if normalised in self.personal:
                    notes.append(f"column '{original}' is personal data and was not stored")
                elif looks_medical(normalised):
                    raise FileRejected(
                        f"{file_name}: column '{original}' looks like medical information "
                        "(diagnosis/complaint); such data may not be delivered, the file is refused"
                    )
                elif normalised:
                    notes.append(f"column '{original}' is not in the contract and was ignored")
                else:
                    notes.append("a column without a header was ignored")
                continue
            if canonical in seen:
                raise FileRejected(
                    f"{file_name}: columns '{seen[canonical]}' and '{original}' both map to "
                    f"'{canonical}'"
                )
            seen[canonical] = original
            mapping[original] = canonical
        missing = [c.name for c in self.spec.columns if not c.optional and c.name not in seen]
        if missing:
            raise FileRejected(f"{file_name}: required column(s) missing: {', '.join(missing)}")
        return mapping, notes


def read_extract(path: Path, spec: ExtractSpec, display_name: str | None = None) -> ParsedFile:
    name = display_name or str(path)
    suffix = path.suffix.lower().lstrip(".")
    headers = _HeaderMap(spec)
    if suffix == "csv":
        raw, rows_read, issues, dialect_name, decimal_comma = _read_csv(path, name, headers)
    elif suffix == "xlsx":
        raw, notes_xlsx = _read_xlsx(path, name)
        rows_read, issues, dialect_name, decimal_comma = raw.height, [], "xlsx", False
    elif suffix == "parquet":
        raw = _read_parquet(path, name)
        rows_read, issues, dialect_name, decimal_comma = raw.height, [], "parquet", False
    else:
        raise FileRejected(f"{name}: unsupported file type '.{suffix}' (use csv, xlsx or parquet)")
    if "_row_number" not in raw.columns:
        raw = raw.with_row_index("_row_number", offset=1).with_columns(
            pl.col("_row_number").cast(pl.Int64)
        )
    mapping, notes = headers.resolve([c for c in raw.columns if c != "_row_number"], name)
    if suffix == "xlsx":
        notes = notes_xlsx + notes
    frame = raw.select(["_row_number", *mapping]).rename(mapping)
    for column in spec.columns:
        if column.name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(column.name))
        elif frame.schema[column.name] != column.dtype:
            frame = frame.with_columns(pl.col(column.name).cast(pl.String))
    frame = frame.select(["_row_number", *(c.name for c in spec.columns)])
    frame, cast_issues = cast_text_columns(
        frame, list(spec.columns), decimal_comma, typed_source=suffix == "parquet"
    )
    return ParsedFile(
        frame=frame,
        rows_read=rows_read,
        issues=issues + cast_issues,
        notes=notes,
        dialect=dialect_name,
    )


def _read_csv(path: Path, name: str, headers: _HeaderMap):
    data = path.read_bytes()
    text, encoding = dialect.decode(data, name)
    found = dialect.detect(text, encoding, name, headers.recognised)
    label = (
        f"csv {encoding} sep='{found.separator}' decimal='{',' if found.decimal_comma else '.'}'"
    )
    if '"' in text:
        frame, issues = _parse_quoted_csv(text, found.separator, name)
    else:
        frame, issues = _parse_plain_csv(text, found.separator, name)
    rows_read = frame.height + len({i.row_number for i in issues})
    return frame, rows_read, issues, label, found.decimal_comma


def _structure_issue(row: int, expected: int, found: int) -> RowIssue:
    return RowIssue(
        row, None, None, f"expected {expected} fields, found {found} (truncated or shifted line)"
    )


def _parse_plain_csv(text: str, separator: str, name: str):
    """Fast path for files without quoting: polars parses, a vectorised count checks structure.

    polars pads a short row with nulls silently, so each line's separators are counted first;
    lines are split inside polars, never as millions of Python strings.
    """
    lines = pl.Series("line", [text]).str.split("\n").explode().str.strip_chars_end("\r")
    header = lines[0]
    expected = header.count(separator)
    columns = [c.strip() for c in header.split(separator)]
    _check_unique_headers(columns, name)
    frame = (
        lines.slice(1)
        .to_frame()
        .with_row_index("_row_number", offset=1)
        .with_columns(pl.col("_row_number").cast(pl.Int64))
    )
    blank = frame["line"].str.strip_chars().str.len_bytes() == 0
    frame = frame.filter(~blank).with_columns(
        pl.col("line").str.count_matches(separator, literal=True).alias("n")
    )
    bad = frame.filter(pl.col("n") != expected)
    issues = [_structure_issue(row, expected + 1, n + 1) for row, _, n in bad.iter_rows()]
    good = frame.filter(pl.col("n") == expected)
    if good.height == 0:
        parsed = pl.DataFrame({c: pl.Series([], dtype=pl.String) for c in columns})
    else:
        body = good["line"].str.join("\n").item() + "\n"
        parsed = pl.read_csv(
            body.encode("utf-8"),
            has_header=False,
            new_columns=columns,
            separator=separator,
            infer_schema=False,
            quote_char=None,
            empty_string_is_null=True,
        )
    return parsed.with_columns(good["_row_number"].alias("_row_number")), issues


def _parse_quoted_csv(text: str, separator: str, name: str):
    """Files with quoting (embedded separators or newlines) go through the csv module."""
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=separator, quotechar='"', strict=True
    )
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as error:
        raise FileRejected(f"{name}: cannot read the header line ({error})") from None
    columns = [c.strip() for c in header]
    _check_unique_headers(columns, name)
    rows: list[list[str]] = []
    numbers: list[int] = []
    issues: list[RowIssue] = []
    record = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            record += 1
            issues.append(RowIssue(record, None, None, f"unreadable CSV record: {error}"))
            break  # the csv module cannot resynchronise after a broken quote
        if not row or all(not cell.strip() for cell in row):
            continue
        record += 1
        if len(row) != len(columns):
            issues.append(_structure_issue(record, len(columns), len(row)))
            continue
        rows.append(row)
        numbers.append(record)
    frame = pl.DataFrame(
        {c: [r[i] for r in rows] for i, c in enumerate(columns)},
        schema={c: pl.String for c in columns},
    ).with_columns(pl.Series("_row_number", numbers, dtype=pl.Int64))
    return frame, issues


def _check_unique_headers(columns: list[str], name: str) -> None:
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise FileRejected(f"{name}: duplicated column header(s): {', '.join(duplicates)}")


def _read_xlsx(path: Path, name: str) -> tuple[pl.DataFrame, list[str]]:
    import fastexcel

    try:
        workbook = fastexcel.read_excel(path)
        sheets = workbook.sheet_names
        frame = pl.read_excel(path, sheet_id=1, infer_schema_length=0, engine="calamine")
    except Exception as error:  # the engine raises its own types for damaged workbooks
        raise FileRejected(f"{name}: not a readable xlsx workbook ({error})") from None
    notes = []
    if len(sheets) > 1:
        notes.append(f"workbook has {len(sheets)} sheets; read the first, '{sheets[0]}'")
    _check_unique_headers(list(frame.columns), name)
    row_numbers = pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("_row_number")
    frame = frame.with_columns(row_numbers).filter(
        ~pl.all_horizontal(pl.exclude("_row_number").is_null())
    )
    return frame, notes


def _read_parquet(path: Path, name: str) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except Exception as error:  # damaged footers raise engine-specific errors
        raise FileRejected(f"{name}: not a readable Parquet file ({error})") from None
