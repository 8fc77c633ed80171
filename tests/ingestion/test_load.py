"""Loading deliveries: balance, damaged input, idempotence, dialect equivalence, load semantics."""

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

import ingestion.load
from ingestion.load import Loader, current_view
from ingestion.privacy import Pseudonymiser
from ingestion.registry import EXTRACTS
from tests.conftest import TEST_KEY, newest


def ledger(con) -> pl.DataFrame:
    return con.sql("select * from ingest.file_ledger order by load_seq").pl()


def quarantine(con, file_name: str | None = None) -> pl.DataFrame:
    rows = con.sql("select * from ingest.quarantine").pl()
    return rows if file_name is None else rows.filter(pl.col("file_name") == file_name)


def table_checksum(con, table: str) -> list[tuple]:
    spec = next(s for s in EXTRACTS if s.raw_table == table)
    columns = ", ".join(f'"{c.name}"' for c in spec.columns if not c.restricted)
    return con.sql(f"select {columns} from {current_view(spec)} order by all").fetchall()


def count_records(path: Path) -> int:
    """Rows in a file, counted independently of the ingestion readers."""
    if path.suffix == ".parquet":
        return pl.read_parquet(path).height
    if path.suffix == ".xlsx":
        return pl.read_excel(path, infer_schema_length=0).height
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    return sum(1 for line in text.splitlines()[1:] if line.strip())


def only_delivery(landing: Path, source: str) -> Path:
    """Keep one delivery of `source` (the newest) and drop every other source."""
    keep = newest(landing, source)
    for path in landing.iterdir():
        if path.name != source and not path.name.startswith("."):
            shutil.rmtree(path)
    for delivery in (landing / source).iterdir():
        if delivery != keep:
            shutil.rmtree(delivery)
    return keep


def test_every_generated_file_balances_and_matches_its_own_row_count(small_landing, loader):
    report = loader.load_landing(small_landing)
    assert report.files
    for result in report.files:
        assert result.rows_read == result.rows_loaded + result.rows_quarantined, result
        if result.status == "loaded":
            path = small_landing / result.source / result.delivery_id / result.file_name
            assert result.rows_read == count_records(path), result.file_name
    assert report.rows_quarantined == 0
    statuses = {f.status for f in report.files}
    assert statuses == {"loaded", "duplicate"}


def test_loading_the_same_deliveries_twice_or_renamed_changes_nothing(
    landing_copy, loader, monkeypatch
):
    """...and a file seen before is not parsed again, only recognised by its bytes."""
    parsed = []
    read_extract = ingestion.load.read_extract

    def counted(path, *args, **kwargs):
        parsed.append(path)
        return read_extract(path, *args, **kwargs)

    monkeypatch.setattr(ingestion.load, "read_extract", counted)
    loader.load_landing(landing_copy)
    assert parsed
    parsed.clear()
    before = {s.raw_table: table_checksum(loader.con, s.raw_table) for s in EXTRACTS}
    counts = {
        s.raw_table: loader.con.sql(f"select count(*) from {s.raw_table}").fetchall()
        for s in EXTRACTS
    }
    second = loader.load_landing(landing_copy)
    assert {f.status for f in second.files} == {"duplicate"}
    assert parsed == []
    delivery = newest(landing_copy, "hris")
    renamed = delivery.parent / "20991231T000000"
    shutil.copytree(delivery, renamed)
    (renamed / "manifest.json").unlink()
    (renamed / "employees.csv").rename(renamed / "EMPLOYEES.csv")
    third = loader.load_landing(landing_copy)
    assert {f.status for f in third.files} == {"duplicate"}
    assert parsed == []
    assert {s.raw_table: table_checksum(loader.con, s.raw_table) for s in EXTRACTS} == before
    assert {
        s.raw_table: loader.con.sql(f"select count(*) from {s.raw_table}").fetchall()
        for s in EXTRACTS
    } == counts


def test_dutch_and_canonical_deliveries_give_identical_raw_tables(tmp_path):
    employees = pl.DataFrame(
        {
            "employee_id": ["100001", "100002"],
            "birth_date": ["1980-02-29", "1975-12-01"],
            "gender": ["F", "M"],
            "original_hire_date": ["2010-01-04", "2015-06-15"],
        }
    )
    contracts = pl.DataFrame(
        {
            "contract_id": ["C1", "C2"],
            "employee_id": ["100001", "100002"],
            "valid_from": ["2010-01-04", "2015-06-15"],
            "valid_to": ["2012-05-31", ""],
            "org_unit_id": ["ORG1", "ORG1"],
            "job_code": ["J1", "J1"],
            "cost_center": ["KP1", "KP1"],
            "contract_type": ["permanent", "fixed_term"],
            "hours_per_week": ["32.5", "36"],
            "fulltime_hours": ["36", "36"],
            "monthly_salary": ["3456.78", "4000"],
            "manager_employee_id": ["", "100001"],
            "is_concurrent": ["", "false"],
        }
    )
    canonical = tmp_path / "canonical" / "hris" / "20240101"
    dutch = tmp_path / "dutch" / "hris" / "20240101"
    for folder in (canonical, dutch):
        folder.mkdir(parents=True)
        for entity, frame in (
            ("org_units", "org_unit_id,name\nORG1,Root\n"),
            ("jobs", "job_code,job_title,job_family,job_level\nJ1,X,Ops,5\n"),
            ("terminations", "employee_id,termination_date,reason_code,initiative\n"),
        ):
            (folder / f"{entity}.csv").write_text(frame)
    employees.write_csv(canonical / "employees.csv")
    contracts.write_csv(canonical / "contracts.csv")
    (dutch / "employees.csv").write_bytes(
        "Personeelsnummer;Naam;Geboortedatum;Geslacht;Datum in dienst\r\n"
        "100001;Zoë Jansen;29-02-1980;F;4-1-2010\r\n"
        "100002;Kees de Vries;01-12-1975;M;15-06-2015\r\n".encode("cp1252")
    )
    (dutch / "contracts.csv").write_bytes(
        "contract_id;personeelsnummer;ingangsdatum;einddatum;afdeling;functie;kostenplaats;"
        "soort_contract;uren_per_week;fulltime_uren;bruto_maandsalaris;leidinggevende;"
        "nevenfunctie\r\n"
        "C1;100001;04-01-2010;31-05-2012;ORG1;J1;KP1;permanent;32,5;36;3.456,78;;\r\n"
        "C2;100002;15-06-2015;;ORG1;J1;KP1;fixed_term;36;36;4000;100001;nee\r\n".encode("cp1252")
    )
    tables = []
    for root in (canonical.parents[1], dutch.parents[1]):
        import duckdb

        with duckdb.connect(str(tmp_path / f"{root.name}.duckdb")) as con:
            report = Loader(con, Pseudonymiser(TEST_KEY), "r").load_landing(root)
            assert report.rows_quarantined == 0, [f.message for f in report.files]
            tables.append(
                {t: table_checksum(con, t) for t in ("raw_hris.employees", "raw_hris.contracts")}
            )
            tables[-1]["birth"] = con.sql(
                "select employee_id, birth_date from restricted.hris_employees order by 1"
            ).fetchall()
    assert tables[0] == tables[1]
    assert tables[0]["raw_hris.contracts"][0][8] == 32.5


# ---- damaged deliveries ----------------------------------------------------------------------


def _rewrite_csv(path: Path, transform) -> None:
    raw = path.read_bytes()
    encoding = (
        "utf-8-sig"
        if raw.startswith(b"\xef\xbb\xbf")
        else ("utf-8" if b";" not in raw.split(b"\n")[0] else "cp1252")
    )
    text = transform(raw.decode(encoding))
    path.write_bytes(text.encode("cp1252" if encoding == "cp1252" else "utf-8"))


def _drop_manifest(delivery: Path) -> None:
    (delivery / "manifest.json").unlink(missing_ok=True)


def _replace_cell(text: str, row: int, column: str, value: str, separator: str) -> str:
    lines = text.split("\n")
    header = lines[0].rstrip("\r").split(separator)
    index = header.index(column)
    cells = lines[row].rstrip("\r").split(separator)
    cells[index] = value
    lines[row] = separator.join(cells) + ("\r" if lines[row].endswith("\r") else "")
    return "\n".join(lines)


def damage_case(name: str, delivery: Path) -> tuple[str, str]:
    """Apply one damage to the delivery; return (file name, expected text in the message)."""
    terminations = delivery / "terminations.csv"  # UTF-8 with BOM, comma
    employees = delivery / "employees.csv"  # cp1252, semicolon, Dutch headers
    if name == "truncated_file":
        data = terminations.read_bytes()
        terminations.write_bytes(data[: len(data) - 7])
        return "terminations.csv", "differs from manifest"
    _drop_manifest(delivery)
    if name == "truncated_line":
        data = terminations.read_bytes().rstrip(b"\n")
        terminations.write_bytes(data[: data.rfind(b",")])
        return "terminations.csv", "expected 5 fields, found 4"
    if name == "utf16":
        terminations.write_bytes(terminations.read_bytes().decode("utf-8-sig").encode("utf-16"))
        return "terminations.csv", "UTF-16"
    if name == "missing_column":
        _rewrite_csv(
            terminations,
            lambda t: "\n".join(
                ",".join(c for i, c in enumerate(line.split(",")) if i != 3)
                for line in t.split("\n")
            ),
        )
        return "terminations.csv", "required column(s) missing: initiative"
    if name == "extra_column":
        _rewrite_csv(
            terminations,
            lambda t: "\n".join(
                line + (",remark" if i == 0 else ",x") if line else line
                for i, line in enumerate(t.split("\n"))
            ),
        )
        return "terminations.csv", ""
    if name == "bad_date":
        _rewrite_csv(
            terminations, lambda t: _replace_cell(t, 2, "termination_date", "2023-13-45", ",")
        )
        return "terminations.csv", "not a valid date"
    if name == "decimal_comma_in_comma_file":
        contracts = delivery / "contracts.csv"
        separator = ";" if b";" in contracts.read_bytes().split(b"\n")[0] else ","
        if separator == ";":
            _rewrite_csv(contracts, lambda t: _replace_cell(t, 3, "uren_per_week", "36.5", ";"))
        else:
            _rewrite_csv(contracts, lambda t: _replace_cell(t, 3, "hours_per_week", '"36,5"', ","))
        return "contracts.csv", "not a number"
    if name == "duplicate_ids":
        _rewrite_csv(
            employees,
            lambda t: t.replace(
                t.split("\n")[2].split(";")[0] + ";", t.split("\n")[1].split(";")[0] + ";", 1
            ),
        )
        return "employees.csv", "duplicate value"
    if name == "unknown_code":
        _rewrite_csv(employees, lambda t: _replace_cell(t, 3, "geslacht", "Q", ";"))
        return "employees.csv", "unknown code"
    if name == "bsn_in_other_column":
        _rewrite_csv(terminations, lambda t: _replace_cell(t, 2, "reason_code", "123456782", ","))
        return "terminations.csv", "11-proef"
    if name == "diagnosis_column":
        absences = delivery / "absences.parquet"
        frame = pl.read_parquet(absences)
        frame.with_columns(pl.lit("griep").alias("diagnose")).write_parquet(absences)
        return "absences.parquet", "medical"
    if name == "manifest_row_mismatch":
        manifest = {"files": {"terminations.csv": {"rows": 999999}}}
        (delivery / "manifest.json").write_text(json.dumps(manifest))
        return "terminations.csv", "manifest.json says 999999"
    raise AssertionError(name)


DAMAGES = [
    "truncated_file",
    "truncated_line",
    "utf16",
    "missing_column",
    "extra_column",
    "bad_date",
    "decimal_comma_in_comma_file",
    "duplicate_ids",
    "unknown_code",
    "bsn_in_other_column",
    "diagnosis_column",
    "manifest_row_mismatch",
]


@pytest.mark.parametrize("damage", DAMAGES)
def test_damaged_delivery_is_quarantined_clearly_and_nothing_is_lost(damage, landing_copy, loader):
    delivery = only_delivery(landing_copy, "hris")
    file_name, expected = damage_case(damage, delivery)
    report = loader.load_landing(landing_copy)
    for result in report.files:
        assert result.rows_read == result.rows_loaded + result.rows_quarantined, result
    damaged = next(f for f in report.files if f.file_name == file_name)
    assert damaged.rows_read == count_records(delivery / file_name) or damaged.status == "rejected"
    rows = quarantine(loader.con, file_name)
    if damage == "extra_column":
        assert damaged.rows_quarantined == 0
        assert any("'remark' is not in the contract" in n for n in damaged.notes)
        return
    assert damaged.rows_quarantined > 0
    reasons = " | ".join(rows["reason"].to_list())
    assert expected in reasons
    if damaged.status == "rejected":
        assert f"hris/{delivery.name}/{file_name}" in damaged.message
    else:
        assert rows["row_number"].null_count() == 0
        assert (
            rows.filter(pl.col("reason").str.contains(expected, literal=True))[
                "column_name"
            ].null_count()
            == (1 if damage == "truncated_line" else 0) * rows.height
        )


def test_a_bsn_column_is_dropped_and_a_bsn_value_elsewhere_never_stored(landing_copy, loader):
    delivery = only_delivery(landing_copy, "hris")
    damage_case("bsn_in_other_column", delivery)
    loader.load_landing(landing_copy)
    columns = loader.con.sql(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where column_name in ('bsn', 'full_name', 'naam')"
    ).fetchall()
    assert columns == []
    stored = loader.con.sql("select count(*) from ingest.quarantine where value = '123456782'")
    assert stored.fetchall() == [(0,)]


def test_an_unknown_entity_and_a_stray_folder_are_reported_not_skipped(landing_copy, loader):
    delivery = only_delivery(landing_copy, "hris")
    _drop_manifest(delivery)
    (delivery / "salaries.csv").write_text("a,b\n1,2\n")
    stray = landing_copy / "hris" / "latest"
    stray.mkdir()
    (stray / "employees.csv").write_text("employee_id\n1\n")
    report = loader.load_landing(landing_copy)
    messages = {f.file_name: f.message for f in report.files if f.status == "rejected"}
    assert "not an entity of source 'hris'" in messages["salaries.csv"]
    assert "'latest' is not a delivery folder" in messages["hris/latest/employees.csv"]
    assert all(f.rows_read == f.rows_quarantined for f in report.files if f.status == "rejected")


# ---- load semantics --------------------------------------------------------------------------


def test_the_newest_complete_hr_snapshot_is_the_truth(landing_copy, loader):
    deliveries = sorted((landing_copy / "hris").iterdir())
    older, newer = deliveries[-2], deliveries[-1]
    (newer / "contracts.csv").unlink()  # an incomplete delivery may not become the truth
    _drop_manifest(newer)
    loader.load_landing(landing_copy)
    current = loader.con.sql("select distinct _delivery_id from current_hris.employees").fetchall()
    assert current == [(older.name,)]
    contracts = loader.con.sql(
        "select distinct _delivery_id from current_hris.contracts"
    ).fetchall()
    assert contracts == [(older.name,)]


def test_a_redelivered_finance_period_replaces_only_that_period(loader, landing_copy):
    loader.load_landing(landing_copy)
    restated = json.loads((landing_copy / ".truth" / "restated_periods.json").read_text())
    period = restated["period"]
    versions = loader.con.execute(
        "select _delivery_id, exists (select 1 from current_finance.gl_entries c "
        "where c.entry_id = g.entry_id and c._delivery_id = g._delivery_id), sum(amount) "
        "from raw_finance.gl_entries g "
        "where period = ? and account_class = 'revenue' group by all order by 1",
        [period],
    ).fetchall()
    assert len(versions) == 2
    (first_delivery, first_current, first_sum), (second_delivery, second_current, second_sum) = (
        versions
    )
    assert second_delivery == restated["restated_in_delivery"]
    assert (first_current, second_current) == (False, True)
    assert float(second_sum) == pytest.approx(float(first_sum) * 1.02, rel=1e-4)
    others = loader.con.execute(
        "select (select count(*) from raw_finance.gl_entries where period <> $1) "
        "- (select count(*) from current_finance.gl_entries where period <> $1)",
        [period],
    ).fetchall()
    assert others == [(0,)]


def test_a_redelivered_survey_wave_replaces_that_wave(loader, landing_copy):
    first = sorted((landing_copy / "survey").iterdir())[0]
    loader.load_landing(landing_copy)
    wave = pl.read_parquet(first / "responses.parquet")["wave_id"][0]
    again = landing_copy / "survey" / "20991231"
    again.mkdir()
    shutil.copy(first / "waves.xlsx", again / "waves.xlsx")
    pl.read_parquet(first / "responses.parquet").head(40).write_parquet(again / "responses.parquet")
    loader.load_landing(landing_copy)
    current = loader.con.execute(
        "select _delivery_id, count(*) from current_survey.responses where wave_id = ? "
        "group by all",
        [wave],
    ).fetchall()
    assert current == [("20991231", 40)]
    untouched = loader.con.execute(
        "select (select count(*) from raw_survey.responses where wave_id <> $1) "
        "- (select count(*) from current_survey.responses where wave_id <> $1)",
        [wave],
    ).fetchall()
    assert untouched == [(0,)]


def test_a_new_planning_delivery_replaces_all_scenarios(loader, landing_copy):
    loader.load_landing(landing_copy)
    again = landing_copy / "planning" / "20991231"
    again.mkdir()
    (again / "demand_scenarios.csv").write_text(
        "scenario,year,job_family,demand_fte\nx,2030,ICT,4\n"
    )
    loader.load_landing(landing_copy)
    current = loader.con.sql(
        "select scenario, demand_fte from current_planning.demand_scenarios"
    ).fetchall()
    assert current == [("x", 4.0)]
