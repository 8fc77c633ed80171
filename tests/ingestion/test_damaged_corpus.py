"""A corpus of damaged deliveries, made from a clean generated one: for every variant no crash, a
clear message naming the file (and row and column where a row is at fault), and
rows read = rows loaded + rows quarantined for every file.

Each variant damages one file of the newest HR snapshot (or of a finance delivery) the way real
exports go wrong; its entry in manifest.json is dropped so the damage itself is what is judged
(the manifest variants keep it)."""

import io
import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
import pytest
import xlsxwriter

from ingestion.load import Loader
from ingestion.privacy import Pseudonymiser
from tests.conftest import TEST_KEY, newest

REJECTED, QUARANTINED, CLEAN = "rejected", "quarantined", "clean"
# A cut can end a file on a field boundary, leaving a valid shorter file: any outcome, explained.
ANY = "any"


def _encoding(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def edit_lines(path: Path, change: Callable[[list[str]], list[str]]) -> None:
    """Change a CSV's lines, keeping its encoding and line ending."""
    raw = path.read_bytes()
    encoding = _encoding(raw)
    text = raw.decode(encoding)
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(newline)
    while lines and lines[-1] == "":
        lines.pop()
    path.write_bytes((newline.join(change(lines)) + newline).encode(encoding))


def separator(lines: list[str]) -> str:
    return ";" if lines[0].count(";") > lines[0].count(",") else ","


def set_field(lines: list[str], row: int, column: str, value: str) -> list[str]:
    sep = separator(lines)
    header = lines[0].split(sep)
    index = header.index(column)
    fields = lines[row].split(sep)
    fields[index] = value
    return [*lines[:row], sep.join(fields), *lines[row + 1 :]]


def drop_column(lines: list[str], column: str) -> list[str]:
    sep = separator(lines)
    index = lines[0].split(sep).index(column)
    return [sep.join(f for i, f in enumerate(line.split(sep)) if i != index) for line in lines]


def truncate_at(fraction: float):
    def damage(path: Path) -> None:
        raw = path.read_bytes()
        path.write_bytes(raw[: max(1, int(len(raw) * fraction))])

    return damage


def reencode(encoding: str):
    def damage(path: Path) -> None:
        raw = path.read_bytes()
        path.write_bytes(raw.decode(_encoding(raw)).encode(encoding))

    return damage


def lines(change):
    return lambda path: edit_lines(path, change)


def to_xlsx_with_sheets(path: Path) -> None:
    """The same rows as an xlsx with a second, unrelated sheet: which sheet is meant?"""
    raw = path.read_bytes()
    frame = pl.read_csv(io.BytesIO(raw.decode(_encoding(raw)).encode()), infer_schema=False,
                        separator=";" if raw.count(b";") > raw.count(b",") else ",")  # fmt: skip
    target = path.with_suffix(".xlsx")
    with xlsxwriter.Workbook(target) as book:
        frame.write_excel(book, worksheet="data")
        book.add_worksheet("notes").write(0, 0, "exported by HR")
    path.unlink()


def wrong_parquet_schema(path: Path) -> None:
    pl.DataFrame({"absence": ["x"], "when": [1]}).write_parquet(path)


HR, FINANCE = "hris", "finance"
VARIANTS: dict[str, tuple[str, str, Callable[[Path], None], str]] = {
    **{
        f"truncated_{name}_{int(f * 100)}": (HR, name, truncate_at(f), ANY)
        for name in ("contracts.csv", "terminations.csv")
        for f in (0.37, 0.61, 0.93)
    },
    "truncated_employees_in_header": (HR, "employees.csv", truncate_at(0.002), REJECTED),
    "truncated_employees_in_first_row": (HR, "employees.csv", truncate_at(0.005), QUARANTINED),
    "truncated_vacancies_83": (HR, "vacancies.csv", truncate_at(0.83), ANY),
    "utf16_with_bom": (HR, "terminations.csv", reencode("utf-16"), REJECTED),
    "utf8_sig_instead_of_cp1252": (HR, "employees.csv", reencode("utf-8-sig"), CLEAN),
    "cp1252_instead_of_utf8": (HR, "contracts.csv", reencode("cp1252"), CLEAN),
    "mixed_separators": (
        HR, "contracts.csv",
        lines(lambda ls: [ls[0], *[x.replace(",", ";") for x in ls[1:4]], *ls[4:]]),
        QUARANTINED,
    ),
    "header_separator_differs": (
        HR, "terminations.csv", lines(lambda ls: [ls[0].replace(",", ";"), *ls[1:]]),
        QUARANTINED,
    ),
    # The reason list is extendable (EXTRACTS.md): a quoted code across two lines is one value.
    "embedded_newline_in_quotes": (
        HR, "terminations.csv",
        lines(lambda ls: [ls[0], ls[1].replace("retirement", '"retire\nment"'), *ls[2:]]),
        CLEAN,
    ),
    "unterminated_quote": (
        HR, "terminations.csv", lines(lambda ls: [ls[0], '"' + ls[1], *ls[2:]]), QUARANTINED,
    ),
    "missing_required_column": (
        HR, "contracts.csv", lines(lambda ls: drop_column(ls, "valid_from")), REJECTED,
    ),
    "missing_employee_column": (
        HR, "terminations.csv", lines(lambda ls: drop_column(ls, "employee_id")), REJECTED,
    ),
    "extra_unknown_column": (
        HR, "terminations.csv",
        lines(lambda ls: [ls[0] + ",remark", *[x + ",n/a" for x in ls[1:]]]), CLEAN,
    ),
    "renamed_column": (
        HR, "terminations.csv",
        lines(lambda ls: [ls[0].replace("termination_date", "end_dt"), *ls[1:]]), REJECTED,
    ),
    "duplicated_column": (
        HR, "terminations.csv",
        lines(lambda ls: [ls[0] + ",reason_code", *[x + ",retirement" for x in ls[1:]]]),
        REJECTED,
    ),
    "text_in_numeric_column": (
        HR, "contracts.csv", lines(lambda ls: set_field(ls, 3, "hours_per_week", "veel")),
        QUARANTINED,
    ),
    "decimal_comma_in_comma_file": (
        HR, "contracts.csv", lines(lambda ls: set_field(ls, 2, "monthly_salary", '"3100,50"')),
        QUARANTINED,
    ),
    "impossible_date": (
        HR, "contracts.csv", lines(lambda ls: set_field(ls, 5, "valid_from", "2023-02-30")),
        QUARANTINED,
    ),
    "american_date": (
        HR, "terminations.csv", lines(lambda ls: set_field(ls, 2, "termination_date", "5/20/2023")),
        QUARANTINED,
    ),
    "impossible_dutch_date": (
        HR, "employees.csv", lines(lambda ls: set_field(ls, 4, "datum_in_dienst", "31-31-2023")),
        QUARANTINED,
    ),
    "negative_hours": (
        HR, "contracts.csv", lines(lambda ls: set_field(ls, 6, "hours_per_week", "-8.0")),
        QUARANTINED,
    ),
    "huge_hours": (
        HR, "contracts.csv", lines(lambda ls: set_field(ls, 7, "hours_per_week", "999.0")),
        QUARANTINED,
    ),
    "zero_fulltime_hours": (
        HR, "contracts.csv", lines(lambda ls: set_field(ls, 8, "fulltime_hours", "0")),
        QUARANTINED,
    ),
    "duplicate_key_rows": (
        HR, "contracts.csv", lines(lambda ls: [*ls, ls[1]]), QUARANTINED,
    ),
    "duplicate_employee": (
        HR, "employees.csv", lines(lambda ls: [*ls, ls[2]]), QUARANTINED,
    ),
    "orphan_contract": (
        HR, "contracts.csv", lines(lambda ls: set_field(ls, 9, "employee_id", "999999")),
        QUARANTINED,
    ),
    "orphan_termination": (
        HR, "terminations.csv", lines(lambda ls: set_field(ls, 1, "employee_id", "999998")),
        QUARANTINED,
    ),
    "unknown_contract_type": (
        HR, "contracts.csv", lines(lambda ls: set_field(ls, 4, "contract_type", "zzp_plus")),
        QUARANTINED,
    ),
    "unknown_gender": (
        HR, "employees.csv", lines(lambda ls: set_field(ls, 3, "geslacht", "Q")), QUARANTINED,
    ),
    "new_reason_code_is_accepted": (
        HR, "terminations.csv", lines(lambda ls: set_field(ls, 3, "reason_code", "sabbatical")),
        CLEAN,
    ),
    "unknown_initiative": (
        HR, "terminations.csv", lines(lambda ls: set_field(ls, 3, "initiative", "boss")),
        QUARANTINED,
    ),
    "unknown_org_unit": (
        HR, "contracts.csv", lines(lambda ls: set_field(ls, 10, "org_unit_id", "ORG9999")),
        QUARANTINED,
    ),
    "missing_key_value": (
        HR, "contracts.csv", lines(lambda ls: set_field(ls, 11, "contract_id", "")), QUARANTINED,
    ),
    "bsn_in_wrong_column": (
        HR, "terminations.csv", lines(lambda ls: set_field(ls, 2, "reason_code", "670322842")),
        QUARANTINED,
    ),
    "empty_file": (HR, "terminations.csv", lambda p: p.write_bytes(b""), REJECTED),
    "empty_xlsx_replacement": (HR, "vacancies.csv", lambda p: p.write_bytes(b""), REJECTED),
    "header_only": (HR, "terminations.csv", lines(lambda ls: ls[:1]), CLEAN),
    "header_only_employees": (HR, "employees.csv", lines(lambda ls: ls[:1]), CLEAN),
    "blank_lines_between_rows": (
        HR, "terminations.csv", lines(lambda ls: [ls[0], ls[1], "", ls[2], *ls[3:]]), CLEAN,
    ),
    "crlf_line_endings": (
        HR, "contracts.csv",
        lambda p: p.write_bytes(p.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")),
        CLEAN,
    ),
    "binary_garbage": (
        HR, "terminations.csv", lambda p: p.write_bytes(bytes(range(256)) * 8), REJECTED,
    ),
    # The first sheet is read and the ledger notes the others (tested below).
    "xlsx_with_two_sheets": (HR, "terminations.csv", to_xlsx_with_sheets, CLEAN),
    "parquet_wrong_schema": (HR, "absences.parquet", wrong_parquet_schema, REJECTED),
    "parquet_truncated": (HR, "absences.parquet", truncate_at(0.5), REJECTED),
    "xlsx_truncated": (HR, "jobs.xlsx", truncate_at(0.5), REJECTED),
    "finance_text_amount": (
        FINANCE, "gl_entries.csv", lines(lambda ls: set_field(ls, 2, "bedrag", "veel")),
        QUARANTINED,
    ),
    "finance_truncated": (FINANCE, "payroll.csv", truncate_at(0.55), QUARANTINED),
    "finance_missing_period": (
        FINANCE, "payroll.csv", lines(lambda ls: drop_column(ls, "period")), REJECTED,
    ),
    "finance_bad_period": (
        FINANCE, "payroll.csv", lines(lambda ls: set_field(ls, 1, "period", "2023-13")),
        QUARANTINED,
    ),
}  # fmt: skip
MANIFEST_VARIANTS = {
    "manifest_row_count_differs": (REJECTED, lambda entry: {**entry, "rows": entry["rows"] + 1}),
    "manifest_checksum_differs": (REJECTED, lambda entry: {**entry, "sha256": "0" * 64}),
    "manifest_unreadable": (REJECTED, None),
}


def delivery_copy(clean: Path, source: str, target: Path) -> Path:
    delivery = newest(clean, source)
    copy = target / source / delivery.name
    shutil.copytree(delivery, copy)
    return copy


def load(landing: Path, warehouse: Path):
    with duckdb.connect(str(warehouse)) as con:
        report = Loader(con, Pseudonymiser(TEST_KEY), run_id="corpus").load_landing(landing)
        quarantine = con.sql(
            "select file_name, row_number, column_name, reason from ingest.quarantine"
        ).fetchall()
    return report, quarantine


def assert_balanced_and_explained(report, quarantine, damaged: str, expected: str):
    for result in report.files:
        assert result.rows_read == result.rows_loaded + result.rows_quarantined, result
    [target] = [
        r for r in report.files if Path(r.file_name).stem == Path(damaged).stem
    ]  # the damaged file, whatever its new suffix
    if expected == REJECTED:
        assert target.status == "rejected", target
        assert target.file_name in target.message and len(target.message) > 30, target.message
    elif expected == QUARANTINED:
        assert target.status == "loaded" and target.rows_quarantined > 0, target
        rows = [q for q in quarantine if q[0] == target.file_name]
        assert rows and all(reason for *_, reason in rows)
        # A row's fault names its row (and its column where one column is at fault).
        assert any(row is not None for _, row, _, _ in rows)
    elif expected == ANY:
        if target.status == "rejected":
            assert target.file_name in target.message, target.message
        rows = [q for q in quarantine if q[0] == target.file_name]
        assert len(rows) >= target.rows_quarantined > 0 or not rows
        assert all(reason for *_, reason in rows)
    else:
        assert target.status == "loaded" and target.rows_quarantined == 0, (
            target,
            [q for q in quarantine if q[0] == target.file_name][:5],
        )


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_damaged_file_is_reported_and_balanced(small_landing, tmp_path, variant):
    source, file_name, damage, expected = VARIANTS[variant]
    delivery = delivery_copy(small_landing, source, tmp_path / "landing")
    damage(delivery / file_name)
    if (delivery / "manifest.json").exists():
        manifest = json.loads((delivery / "manifest.json").read_text())
        manifest["files"].pop(file_name, None)
        (delivery / "manifest.json").write_text(json.dumps(manifest))
    report, quarantine = load(tmp_path / "landing", tmp_path / "w.duckdb")
    assert_balanced_and_explained(report, quarantine, file_name, expected)


@pytest.mark.parametrize("variant", sorted(MANIFEST_VARIANTS))
def test_a_manifest_mismatch_is_reported(small_landing, tmp_path, variant):
    expected, change = MANIFEST_VARIANTS[variant]
    delivery = delivery_copy(small_landing, HR, tmp_path / "landing")
    if change is None:
        (delivery / "manifest.json").write_text("{ not json")
    else:
        manifest = json.loads((delivery / "manifest.json").read_text())
        manifest["files"]["terminations.csv"] = change(manifest["files"]["terminations.csv"])
        (delivery / "manifest.json").write_text(json.dumps(manifest))
    report, quarantine = load(tmp_path / "landing", tmp_path / "w.duckdb")
    assert_balanced_and_explained(report, quarantine, "terminations.csv", expected)


def test_the_corpus_is_large_enough():
    assert len(VARIANTS) + len(MANIFEST_VARIANTS) >= 50


@pytest.mark.parametrize("seed", range(6))
def test_random_truncation_of_any_file_never_crashes(small_landing, tmp_path, seed):
    rng = random.Random(seed)
    delivery = delivery_copy(small_landing, HR, tmp_path / "landing")
    files = sorted(p for p in delivery.iterdir() if p.name != "manifest.json")
    path = rng.choice(files)
    raw = path.read_bytes()
    path.write_bytes(raw[: rng.randrange(0, len(raw))])
    (delivery / "manifest.json").unlink()
    report, _ = load(tmp_path / "landing", tmp_path / "w.duckdb")
    for result in report.files:
        assert result.rows_read == result.rows_loaded + result.rows_quarantined, result
        if result.status == "rejected":
            assert result.message


def test_a_workbook_with_several_sheets_is_read_from_the_first_and_noted(small_landing, tmp_path):
    delivery = delivery_copy(small_landing, HR, tmp_path / "landing")
    to_xlsx_with_sheets(delivery / "terminations.csv")
    (delivery / "manifest.json").unlink()
    report, _ = load(tmp_path / "landing", tmp_path / "w.duckdb")
    [result] = [r for r in report.files if r.file_name == "terminations.xlsx"]
    assert result.rows_loaded > 100 and any("2 sheets" in note for note in result.notes)
