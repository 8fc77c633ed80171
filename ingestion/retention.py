"""AVG retention in the warehouse's own layers: personal HR data leaves two years after the end of
employment, payroll and finance data after seven years (both configurable).

Runs at the end of every ingestion, so that dbt rebuilds every downstream layer (intermediate,
marts, survey_private) without the people removed, and the publication never sees them again.
What is removed: raw HR and survey rows of the person (survey answers included), their restricted
birth date, references to them as manager or hire (emptied, not deleted: the other person's row
stays), quarantined rows of deliveries older than the window, and finance rows of periods older
than the finance window.

Aggregates that no longer identify anyone stay: the KPI tables keep closed periods frozen
(metrics/kpi_tables.py `freeze_closed_periods`). A person is therefore removed only once the
periods they count in are frozen: on a first load of old history, people already past their
window are kept for one more run, whose KPI tables freeze those periods with them included.

The clock is the day the newest HR snapshot describes (the HR system's present, which is today
in a nightly run), never later than today, so that a re-run of an old night or a test dataset is
judged against its own time and a wrongly dated delivery cannot delete anyone early;
`PEOPLEMART_RETENTION_AS_OF` sets it explicitly.
"""

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

# Columns holding a pseudonymised person id: the row is theirs.
OWNER_COLUMNS = ("employee_id",)
# Columns pointing at a person from someone else's row: emptied when that person goes.
REFERENCE_COLUMNS = ("manager_employee_id", "hired_employee_id")
PERSONAL_SCHEMAS = ("raw_hris", "raw_survey", "restricted")
# Rows without a person column that belong to a row of the person (a milestone to an absence).
DEPENDENT_ROWS = (("raw_hris.absence_milestones", "absence_id", "raw_hris.absences"),)
FINANCE_PERIOD_TABLES = {"raw_finance.gl_entries": "period", "raw_finance.payroll": "period"}
FINANCE_YEAR_TABLES = {"raw_finance.formation": "year"}
# Quarantine per source: which window its rows fall under.
HR_SOURCES = ("hris", "survey")
FINANCE_SOURCES = ("finance", "planning")
FROZEN_SCHEMA = "kpi_frozen"
FROZEN_BOUNDARY = f"{FROZEN_SCHEMA}.boundary"


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class RetentionPolicy:
    hr_years: int = 2
    finance_years: int = 7
    as_of: dt.date | None = None


@dataclass
class RetentionReport:
    as_of: str | None
    hr_years: int
    finance_years: int
    hr_horizon: str | None = None
    finance_horizon: str | None = None
    frozen_before: str | None = None
    people_removed: int = 0
    people_removed_again: int = 0
    people_waiting_for_frozen_periods: int = 0
    rows_removed: dict[str, int] = field(default_factory=dict)
    references_emptied: dict[str, int] = field(default_factory=dict)
    removed_keys: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """The report without the keys (they go only to the publication purge)."""
        return {k: v for k, v in vars(self).items() if k != "removed_keys"}


def retention_clock(con: duckdb.DuckDBPyConnection, policy: RetentionPolicy) -> dt.date | None:
    """The day retention counts from: the day the current HR snapshot describes (the day before
    its delivery), never later than today. A delivery dated in the future (a typo, a test file)
    must not delete anyone early: deletion cannot be undone."""
    if policy.as_of:
        return policy.as_of
    rows = con.sql(
        "select delivery_id from ingest.current_deliveries where source = 'hris'"
    ).fetchall()
    if not rows:
        return None
    delivered = dt.date(int(rows[0][0][:4]), int(rows[0][0][4:6]), int(rows[0][0][6:8]))
    return min(delivered - dt.timedelta(days=1), dt.date.today())


def frozen_before(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """Up to where the KPI tables are frozen: people whose employment ended before this date
    no longer change any published figure when they are removed."""
    exists = con.sql(
        f"select 1 from duckdb_tables() where schema_name = '{FROZEN_SCHEMA}' "
        "and table_name = 'boundary'"
    ).fetchall()
    if not exists:
        return None
    return con.sql(f"select max(frozen_before) from {FROZEN_BOUNDARY}").fetchall()[0][0]


def _employment_ends(con: duckdb.DuckDBPyConnection) -> str:
    """Per person the day their employment ended (null while employed), as the newest snapshot
    tells it; people the HR system no longer sends end with their last contract seen."""
    return """
        with contracts as (
            select employee_id, valid_to from current_hris.contracts
            union all
            select employee_id, valid_to from raw_hris.contracts
            where employee_id not in (select employee_id from current_hris.contracts)
        ),
        exits as (
            select employee_id, max(termination_date) as termination_date
            from current_hris.terminations group by employee_id
        )
        select
            contracts.employee_id,
            case when bool_or(contracts.valid_to is null) then null
                 else greatest(max(contracts.valid_to), max(exits.termination_date)) end
                as employment_end_date
        from contracts
        left join exits on exits.employee_id = contracts.employee_id
        group by contracts.employee_id
    """


def hr_horizon(con: duckdb.DuckDBPyConnection, policy: RetentionPolicy) -> dt.date | None:
    """Employment that ended before this day is past its window."""
    as_of = retention_clock(con, policy)
    return years_before(as_of, policy.hr_years) if as_of else None


def apply_retention(
    con: duckdb.DuckDBPyConnection, policy: RetentionPolicy, run_id: str, home: Path | None = None
) -> RetentionReport:
    """Remove what is past its window; with `home`, the removed keys are written for the
    publication step before the removal commits (a crash in between must not leave people in
    old publications that nobody will clean)."""
    as_of = retention_clock(con, policy)
    report = RetentionReport(
        as_of=str(as_of) if as_of else None,
        hr_years=policy.hr_years,
        finance_years=policy.finance_years,
    )
    if as_of is None:
        return report
    horizon = years_before(as_of, policy.hr_years)
    finance_horizon = years_before(as_of, policy.finance_years)
    frozen = frozen_before(con)
    report.hr_horizon, report.finance_horizon = str(horizon), str(finance_horizon)
    report.frozen_before = str(frozen) if frozen else None
    # "Two years after the end of employment": kept through that anniversary, gone the day after.
    expired = con.execute(
        f"select employee_id, employment_end_date from ({_employment_ends(con)}) "
        "where employment_end_date < ? order by all",
        [horizon],
    ).fetchall()
    removable = [key for key, end in expired if frozen is not None and end < frozen]
    # A full snapshot sends everyone's history every night: most of the people past their window
    # were removed on an earlier night and are only removed again (200,000 a night at 100,000
    # employees). Their digest is known already, and no copy published since holds them.
    returned = set(_delivered_again(con))
    first_time = [key for key in removable if key not in returned]
    report.people_waiting_for_frozen_periods = len(expired) - len(removable)
    report.people_removed = len(first_time)
    report.people_removed_again = len(returned)
    report.removed_keys = first_time + sorted(returned)
    con.execute("begin transaction")
    try:
        if report.removed_keys:
            _remove_people(con, report.removed_keys, report)
            # Only a one-way digest of the pseudonym is kept, to recognise the person when the
            # HR system sends their history again.
            con.execute(
                "insert into ingest.retention_removed "
                "select sha256(key), current_timestamp from unnest(?::varchar[]) as t(key)",
                [first_time],
            )
        _remove_quarantine(con, horizon, HR_SOURCES, report)
        _remove_quarantine(con, finance_horizon, FINANCE_SOURCES, report)
        if frozen is not None:
            _remove_finance(con, min(finance_horizon, frozen), report)
        # What left, per table (no keys): the raw row counts reconcile with the file ledger as
        # rows loaded minus rows removed here.
        for table, removed in report.rows_removed.items():
            con.execute(
                "insert into ingest.retention_log values (?, ?, ?, ?, 0, current_timestamp)",
                [run_id, as_of, table, removed],
            )
        for reference, emptied in report.references_emptied.items():
            con.execute(
                "insert into ingest.retention_log values (?, ?, ?, 0, ?, current_timestamp)",
                [run_id, as_of, reference, emptied],
            )
        # Only people removed for the first time can be in a copy published before: the
        # others left every copy on the night they were first removed.
        if home is not None and first_time:
            _add_pending_keys(home, first_time)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return report


def _delivered_again(con: duckdb.DuckDBPyConnection) -> list[str]:
    """People removed before whose rows a new delivery brought back, unless they are employed
    again (a re-hire keeps their history)."""
    present = " union ".join(
        f'select "{column}" as employee_id from {schema}."{table}"'
        for schema, table, column in _tables_with(con, OWNER_COLUMNS)
    )
    if not present:
        return []
    return [
        row[0]
        for row in con.sql(f"""
            select distinct employee_id from ({present})
            where sha256(employee_id) in (select digest from ingest.retention_removed)
              and employee_id not in (
                  select employee_id from current_hris.contracts where valid_to is null)
        """).fetchall()
    ]


def _tables_with(con: duckdb.DuckDBPyConnection, columns: tuple[str, ...]) -> list[tuple]:
    schemas = ", ".join(f"'{s}'" for s in PERSONAL_SCHEMAS)
    wanted = ", ".join(f"'{c}'" for c in columns)
    return con.sql(
        "select c.schema_name, c.table_name, c.column_name from duckdb_columns() as c "
        "join duckdb_tables() as t using (schema_name, table_name) "
        f"where c.schema_name in ({schemas}) and c.column_name in ({wanted}) order by all"
    ).fetchall()


def key_table(con: duckdb.DuckDBPyConnection, table: str, keys: list[str]) -> None:
    """A temporary table of keys, filled in one statement: row-by-row inserts took minutes for
    the 20,000 people a first retention pass can remove, once per published file."""
    con.execute(
        f"create or replace temp table {table} as select unnest(?::varchar[]) as key",
        [list(keys)],
    )


def _remove_people(con, keys: list[str], report: RetentionReport) -> None:
    key_table(con, "retention_keys", keys)
    # Rows that belong to the person through another row of theirs go first.
    for child, column, parent in DEPENDENT_ROWS:
        removed = con.execute(
            f"delete from {child} where {column} in (select {column} from {parent} "
            "where employee_id in (select key from retention_keys))"
        ).fetchall()[0][0]
        if removed:
            report.rows_removed[child] = removed
    for schema, table, column in _tables_with(con, OWNER_COLUMNS):
        removed = con.execute(
            f'delete from {schema}."{table}" where "{column}" in (select key from retention_keys)'
        ).fetchall()[0][0]
        if removed:
            report.rows_removed[f"{schema}.{table}"] = removed
    for schema, table, column in _tables_with(con, REFERENCE_COLUMNS):
        emptied = con.execute(
            f'update {schema}."{table}" set "{column}" = null '
            f'where "{column}" in (select key from retention_keys)'
        ).fetchall()[0][0]
        if emptied:
            report.references_emptied[f"{schema}.{table}.{column}"] = emptied
    con.execute("drop table retention_keys")


def _remove_quarantine(con, horizon: dt.date, sources: tuple[str, ...], report) -> None:
    # A quarantined row names a file and row, not a person: it goes with its delivery's age.
    removed = con.execute(
        f"delete from ingest.quarantine where source in ({', '.join('?' * len(sources))}) "
        "and strptime(left(delivery_id, 8), '%Y%m%d') < ?",
        [*sources, horizon],
    ).fetchall()[0][0]
    if removed:
        key = f"ingest.quarantine ({'/'.join(sources)})"
        report.rows_removed[key] = report.rows_removed.get(key, 0) + removed


def _remove_finance(con, horizon: dt.date, report: RetentionReport) -> None:
    # A month (or year) goes when its last day lies before the horizon.
    for table, column in FINANCE_PERIOD_TABLES.items():
        removed = con.execute(
            f"delete from {table} where {column} < ?", [horizon.strftime("%Y-%m")]
        ).fetchall()[0][0]
        if removed:
            report.rows_removed[table] = removed
    for table, column in FINANCE_YEAR_TABLES.items():
        removed = con.execute(f"delete from {table} where {column} < ?", [horizon.year]).fetchall()[
            0
        ][0]
        if removed:
            report.rows_removed[table] = removed


REPORTS = "retention"
PENDING = "pending_keys.json"


def record_retention(home: Path, run_id: str, report: RetentionReport) -> Path:
    """The run's retention report (no keys). The removed keys wait in pending_keys.json for the
    publication step, which removes them from the copies already published and forgets them."""
    folder = home / REPORTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}.json"
    path.write_text(json.dumps(report.summary(), indent=2, default=str))
    return path


def _add_pending_keys(home: Path, keys: list[str]) -> None:
    folder = home / REPORTS
    folder.mkdir(parents=True, exist_ok=True)
    pending = sorted(set(pending_keys(home)) | set(keys))
    staged = folder / (PENDING + ".next")
    staged.write_text(json.dumps(pending))
    os.replace(staged, folder / PENDING)


def pending_keys(home: Path) -> list[str]:
    path = home / REPORTS / PENDING
    return json.loads(path.read_text()) if path.exists() else []


def forget_pending_keys(home: Path) -> None:
    (home / REPORTS / PENDING).unlink(missing_ok=True)
