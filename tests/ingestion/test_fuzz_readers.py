"""Fuzzing the dialect detector and the CSV readers with hypothesis: whatever the bytes, the
reader either rejects the file with a message naming it, or returns every record exactly once
(as a row or as an issue naming its row), never crashes and never loses a record."""

from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.dialect import decode, detect
from ingestion.errors import FileRejected
from ingestion.readers import read_extract
from ingestion.registry import find_spec

TERMINATIONS = find_spec("hris", "terminations")
HEADERS = ["employee_id,termination_date,reason_code,initiative,is_regretted",
           "employee_id;datum_uit_dienst;reden_uit_dienst;initiative;ongewenst"]  # fmt: skip
FIELD = st.one_of(
    st.sampled_from(["100001", "2023-05-20", "20-05-2023", "retirement", "employee", "true", ""]),
    st.text(alphabet=st.characters(codec="cp1252", exclude_categories=["Cs"]), max_size=12),
)
SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(data=st.binary(max_size=400))
def test_any_bytes_are_decoded_or_refused_with_the_file_name(data):
    try:
        text, encoding = decode(data, "landing/x.csv")
    except FileRejected as rejection:
        assert "landing/x.csv" in str(rejection)
        return
    assert encoding in ("utf-8", "cp1252") and isinstance(text, str)


@SETTINGS
@given(header=st.text(max_size=80))
def test_any_header_gives_one_separator_or_a_clear_refusal(header):
    def recognise(cells: list[str]) -> int:
        return sum(cell in {"employee_id", "termination_date", "reason_code"} for cell in cells)

    try:
        dialect = detect(header + "\n", "utf-8", "x.csv", recognise)
    except FileRejected as rejection:
        assert "x.csv" in str(rejection)
        return
    assert dialect.separator in (",", ";")
    assert dialect.decimal_comma == (dialect.separator == ";")


@SETTINGS
@given(
    header=st.sampled_from(HEADERS),
    rows=st.lists(st.lists(FIELD, min_size=0, max_size=7), max_size=12),
    quote=st.booleans(),
    crlf=st.booleans(),
    encoding=st.sampled_from(["utf-8", "cp1252", "utf-8-sig"]),
)
def test_any_rows_are_each_read_once_or_reported(tmp_path_factory, header, rows, quote, crlf,
                                                 encoding):  # fmt: skip
    separator = ";" if ";" in header else ","
    newline = "\r\n" if crlf else "\n"

    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if quote else value

    lines = [header] + [separator.join(cell(v) for v in row) for row in rows]
    path = Path(tmp_path_factory.mktemp("fuzz")) / "terminations.csv"
    try:
        path.write_bytes((newline.join(lines) + newline).encode(encoding))
    except UnicodeEncodeError:
        return
    try:
        parsed = read_extract(path, TERMINATIONS, "hris/d/terminations.csv")
    except FileRejected as rejection:
        assert "hris/d/terminations.csv" in str(rejection)
        return
    frame: pl.DataFrame = parsed.frame
    structural = {i.row_number for i in parsed.issues if i.column is None}
    kept = set(frame["_row_number"].to_list())
    # Every record is a row of the frame or a structural issue, once (numbers count data lines
    # after the header, so a skipped blank line leaves a gap in them).
    assert len(kept) + len(structural) == parsed.rows_read == frame.height + len(structural)
    assert not kept & structural and all(n >= 1 for n in kept | structural)
    assert all(issue.reason for issue in parsed.issues)
