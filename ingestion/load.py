"""Load deliveries into the raw layer of the warehouse: ledger, quarantine, load semantics.

Every file ends in the ledger with rows_read = rows_loaded + rows_quarantined. A delivery is
written in one transaction, so a crash leaves either all of it or none of it.
"""

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from ingestion import validate
from ingestion.discovery import Delivery, StrayFile, discover, sha256_of
from ingestion.errors import FileRejected, RowIssue
from ingestion.privacy import Pseudonymiser
from ingestion.readers import FORMATS, ParsedFile, read_extract
from ingestion.registry import EXTRACTS, ExtractSpec, find_spec

LINEAGE = {
    "_delivery_id": "VARCHAR",
    "_file_name": "VARCHAR",
    "_file_sha256": "VARCHAR",
    "_row_number": "BIGINT",
    "_loaded_at": "TIMESTAMP",
}
RESTRICTED_SCHEMA = "restricted"
# Rows loaded between two commits (see Loader.load_landing).
COMMIT_ROWS = 2_000_000


@dataclass
class FileResult:
    source: str
    delivery_id: str
    file_name: str
    entity: str | None
    status: str  # loaded | duplicate | rejected
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    file_sha256: str | None = None
    dialect: str = ""
    message: str = ""
    notes: list[str] = field(default_factory=list)
    issues: list[RowIssue] = field(default_factory=list, repr=False)


@dataclass
class IngestReport:
    files: list[FileResult]

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    def as_dicts(self) -> list[dict]:
        return [{k: v for k, v in asdict(f).items() if k != "issues"} for f in self.files]


def restricted_table(spec: ExtractSpec) -> str:
    return f"{RESTRICTED_SCHEMA}.{spec.source}_{spec.entity}"


def current_view(spec: ExtractSpec) -> str:
    """The rows that are the truth now, per the source's load semantics (what dbt reads)."""
    return f"current_{spec.source}.{spec.entity}"


def current_restricted_view(spec: ExtractSpec) -> str:
    return f"{RESTRICTED_SCHEMA}.current_{spec.source}_{spec.entity}"


def ensure_schemas(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ingest, raw and restricted schemas and tables (idempotent)."""
    con.execute("create schema if not exists ingest")
    con.execute(f"create schema if not exists {RESTRICTED_SCHEMA}")
    con.execute("create sequence if not exists ingest.load_seq")
    con.execute("""
        create table if not exists ingest.file_ledger (
            load_seq bigint, run_id varchar, source varchar, delivery_id varchar,
            delivery_sort_key varchar, entity varchar, file_name varchar, file_sha256 varchar,
            status varchar, rows_read bigint, rows_loaded bigint, rows_quarantined bigint,
            dialect varchar, message varchar, notes varchar, loaded_at timestamp)""")
    # Load semantics as data: which file is current (per replace key, where a newer delivery
    # replaces part of an entity). Raw tables stay append-only; the current_* views filter them.
    con.execute("""
        create table if not exists ingest.file_keys (
            source varchar, entity varchar, file_sha256 varchar, replace_key varchar)""")
    con.execute("""
        create table if not exists ingest.current_files (
            source varchar, entity varchar, file_sha256 varchar, replace_key varchar)""")
    # The delivery each source's truth comes from (for HRIS: the snapshot the facts describe).
    con.execute("""
        create table if not exists ingest.current_deliveries (
            source varchar, delivery_id varchar)""")
    # People AVG retention removed, as a one-way digest of their pseudonym: a full HR snapshot
    # sends their history again, and it goes again (ingestion/retention.py).
    con.execute("""
        create table if not exists ingest.retention_removed (
            digest varchar, removed_at timestamp)""")
    # What AVG retention removed, per table and run (ingestion/retention.py): no keys.
    con.execute("""
        create table if not exists ingest.retention_log (
            run_id varchar, as_of date, table_name varchar, rows_removed bigint,
            references_emptied bigint, applied_at timestamp)""")
    con.execute("""
        create table if not exists ingest.quarantine (
            run_id varchar, source varchar, delivery_id varchar, entity varchar,
            file_name varchar, file_sha256 varchar, row_number bigint, column_name varchar,
            value varchar, reason varchar, quarantined_at timestamp)""")
    for spec in EXTRACTS:
        con.execute(f"create schema if not exists raw_{spec.source}")
        public = [c for c in spec.columns if not c.restricted]
        ddl = [f'"{c.name}" {c.sql_type}' for c in public]
        ddl += [f"{name} {kind}" for name, kind in LINEAGE.items()]
        con.execute(f"create table if not exists {spec.raw_table} ({', '.join(ddl)})")
        restricted = [c for c in spec.columns if c.restricted]
        if restricted:
            key = spec.columns[0]
            cols = [key, *restricted]
            ddl = [f'"{c.name}" {c.sql_type}' for c in cols]
            ddl += [f"{name} {kind}" for name, kind in LINEAGE.items()]
            con.execute(f"create table if not exists {restricted_table(spec)} ({', '.join(ddl)})")
            con.execute(
                f"create or replace view {current_restricted_view(spec)} as "
                f"{_current_rows_sql(spec, restricted_table(spec))}"
            )
        con.execute(f"create schema if not exists current_{spec.source}")
        con.execute(
            f"create or replace view {current_view(spec)} as "
            f"{_current_rows_sql(spec, spec.raw_table)}"
        )


def _current_rows_sql(spec: ExtractSpec, table: str) -> str:
    key_match = (
        f'and current.replace_key = cast(rows."{spec.replace_by}" as varchar)'
        if spec.replace_by
        else ""
    )
    return f"""
        select rows.* from {table} as rows
        where exists (
            select 1 from ingest.current_files as current
            where current.source = '{spec.source}' and current.entity = '{spec.entity}'
              and current.file_sha256 = rows._file_sha256 {key_match})"""


class Loader:
    """Loads a landing folder into one DuckDB connection."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        pseudonymiser: Pseudonymiser,
        run_id: str,
        loaded_at: datetime | None = None,
    ):
        self.con = con
        self.pseudonymiser = pseudonymiser
        self.run_id = run_id
        self.loaded_at = (loaded_at or datetime.now(UTC)).replace(tzinfo=None)
        ensure_schemas(con)
        # The ledger's answer to "were these bytes seen before?", read once: a query per file
        # cost more than parsing a small file.
        self._seen: dict[str, tuple[str, str]] | None = None
        self._stale: set[str] = set()

    # ---- public -------------------------------------------------------------------------
    def load_landing(self, landing: Path) -> IngestReport:
        deliveries, strays = discover(landing)
        results = [self._stray(s, landing) for s in strays]
        if results:
            self.con.execute("begin")
            self._record(results)
            self.con.execute("commit")
            self._remember(results)
        # The next delivery's files are read (hashed, parsed, cast) on a second thread while this
        # one is validated and written: polars and DuckDB release the GIL, the machine has 2 cores.
        # Deliveries are committed in groups of about COMMIT_ROWS rows: each delivery still loads
        # whole or not at all (a crash rolls back the open group, which the next run loads), and
        # 144 monthly deliveries cost a dozen commits instead of 144.
        self.con.execute("begin")
        pending = 0
        try:
            with ThreadPoolExecutor(max_workers=1) as reader:
                # A file seen before is only hashed, never parsed: a night re-reads a landing
                # of years of deliveries to find the one that is new (13 s at 100,000
                # employees, when every file was parsed again).
                upcoming = (
                    reader.submit(_read_files, deliveries[0], frozenset(self._seen_files()))
                    if deliveries
                    else None
                )
                for index, delivery in enumerate(deliveries):
                    files = upcoming.result()
                    if index + 1 < len(deliveries):
                        upcoming = reader.submit(
                            _read_files, deliveries[index + 1], frozenset(self._seen_files())
                        )
                    loaded = self.load_delivery(delivery, files)
                    results += loaded
                    pending += sum(r.rows_read for r in loaded)
                    if pending >= COMMIT_ROWS:
                        self.con.execute("commit")
                        self.con.execute("begin")
                        pending = 0
            # Every source, every run: a run that crashed between a delivery and this point
            # left its source's current_* views behind, and the next run puts them right.
            self._refresh_sources(sorted({spec.source for spec in EXTRACTS}))
            self.con.execute("commit")
        except BaseException:
            self.con.execute("rollback")
            self._seen = None  # read again from the ledger: the rolled-back files are not seen
            raise
        return IngestReport(results)

    def load_delivery(
        self, delivery: Delivery, files: dict[Path, "_ReadFile"] | None = None
    ) -> list[FileResult]:
        """Load one delivery inside the caller's transaction."""
        results, parsed = self._parse_delivery(delivery, files or _read_files(delivery))
        self._cross_check(delivery.source, parsed)
        for result in results:
            if result.entity and result.status == "loaded":
                spec = find_spec(delivery.source, result.entity)
                self._write_rows(spec, result, parsed[result.entity])
        self._record(results)
        self._remember(results)
        # Which files are current is worked out once at the end of the load (one query per
        # delivery cost more than small deliveries took to load), or when a later delivery of
        # the same source needs the current rows.
        self._stale.add(delivery.source)
        return results

    # ---- parsing ------------------------------------------------------------------------
    def _parse_delivery(self, delivery: Delivery, files: dict[Path, "_ReadFile"]):
        results: list[FileResult] = []
        parsed: dict[str, tuple[FileResult, ParsedFile]] = {}
        by_entity: dict[str, list[Path]] = {}
        for path in delivery.files:
            by_entity.setdefault(path.stem.lower(), []).append(path)
        for path in delivery.files:
            name = f"{delivery.source}/{delivery.delivery_id}/{path.name}"
            entity = path.stem.lower()
            result = FileResult(
                delivery.source,
                delivery.delivery_id,
                path.name,
                entity,
                "rejected",
                file_sha256=files[path].sha256,
            )
            results.append(result)
            spec = find_spec(delivery.source, entity)
            try:
                if spec is None:
                    result.entity = None
                    raise FileRejected(
                        f"{name}: '{path.stem}' is not an entity of source "
                        f"'{delivery.source}' (see EXTRACTS.md)"
                    )
                if path.suffix.lower().lstrip(".") not in FORMATS:
                    raise FileRejected(
                        f"{name}: unsupported file type '{path.suffix}' (use csv, xlsx or parquet)"
                    )
                if len(by_entity[entity]) > 1:
                    raise FileRejected(
                        f"{name}: entity '{entity}' is delivered more than once "
                        "in this delivery; which one is meant cannot be told"
                    )
                if self._already_seen(result, name):
                    continue
                self._verify_manifest_checksum(delivery, path, result, name)
                parsed_file = files[path].parsed()
                self._verify_manifest_rows(delivery, path, parsed_file, name)
                result.rows_read = parsed_file.rows_read
                result.dialect = parsed_file.dialect
                result.notes = parsed_file.notes
                parsed_file.issues += validate.contract_issues(parsed_file, spec)
                parsed_file.issues += validate.privacy_issues(parsed_file, spec)
                result.status = "loaded"
                parsed[entity] = (result, parsed_file)
            except FileRejected as rejection:
                result.status = "rejected"
                result.message = str(rejection)
                result.rows_read = result.rows_quarantined = _count_records(path)
                result.issues = [RowIssue(None, None, None, str(rejection))]
        return results, parsed

    def _remember(self, results: list[FileResult]) -> None:
        """Loaded files join the seen set (the first time bytes were seen is what counts); a
        rollback forgets the set, which is then read again from the ledger."""
        if self._seen is None:
            return
        for result in results:
            if result.status in ("loaded", "rejected") and result.file_sha256:
                where = f"{result.source}/{result.delivery_id}/{result.file_name}"
                self._seen.setdefault(result.file_sha256, (result.status, where))

    def _seen_files(self) -> dict[str, tuple[str, str]]:
        """Checksum -> (status, where) of every file loaded or rejected before."""
        if self._seen is None:
            self._seen = {}
            for sha, status, where in self.con.execute(
                "select file_sha256, status, source || '/' || delivery_id || '/' || file_name "
                "from ingest.file_ledger where status in ('loaded', 'rejected') order by load_seq"
            ).fetchall():
                self._seen.setdefault(sha, (status, where))
        return self._seen

    def _already_seen(self, result: FileResult, name: str) -> bool:
        seen = self._seen_files()
        if result.file_sha256 not in seen:
            return False
        status, where = seen[result.file_sha256]
        if status == "rejected":
            raise FileRejected(f"{name}: same bytes as {where}, which was rejected before")
        result.status = "duplicate"
        result.message = f"same bytes as {where}: loaded once, not again"
        return True

    @staticmethod
    def _manifest_entry(delivery: Delivery, path: Path, name: str) -> dict | None:
        if delivery.manifest_error:
            raise FileRejected(f"{name}: {delivery.manifest_error}")
        if delivery.manifest is None:
            return None
        return delivery.manifest.get(path.name.lower())

    def _verify_manifest_checksum(self, delivery, path, result, name):
        entry = self._manifest_entry(delivery, path, name)
        if entry and "sha256" in entry and str(entry["sha256"]).lower() != result.file_sha256:
            raise FileRejected(
                f"{name}: sha256 differs from manifest.json (truncated or altered upload)"
            )

    def _verify_manifest_rows(self, delivery, path, parsed_file, name):
        entry = self._manifest_entry(delivery, path, name)
        if entry and "rows" in entry and int(entry["rows"]) != parsed_file.rows_read:
            raise FileRejected(
                f"{name}: {parsed_file.rows_read} rows read but manifest.json "
                f"says {entry['rows']} (truncated or altered upload)"
            )

    # ---- references between files --------------------------------------------------------
    def _cross_check(self, source: str, parsed: dict[str, tuple[FileResult, ParsedFile]]):
        def frame_of(entity: str, columns: list[str]) -> pl.DataFrame | None:
            if entity in parsed:
                return parsed[entity][1].frame.select(columns)
            spec = find_spec(source, entity)
            if source in self._stale:
                self._refresh_sources([source])
            rows = self.con.sql(f"select {', '.join(columns)} from {current_view(spec)}").pl()
            if rows.height == 0:
                return None
            if any(c.identifier for c in spec.columns if c.name in columns):
                return None  # current rows hold pseudonyms, not comparable with raw ids
            return rows

        if source == "hris":
            for entity, column, ref_entity, ref_column in validate.HRIS_REFERENCES:
                if entity not in parsed:
                    continue
                reference = frame_of(ref_entity, [ref_column])
                if reference is None:
                    continue
                parsed[entity][1].issues += validate.reference_issues(
                    parsed[entity][1].frame,
                    column,
                    reference[ref_column],
                    f"the {ref_entity} of this HR snapshot",
                )
        if source == "survey" and "responses" in parsed:
            waves = frame_of("waves", ["wave_id", "anonymity"])
            items = frame_of("items", ["item_id", "scale_min", "scale_max"])
            if waves is not None and items is not None:
                parsed["responses"][1].issues += validate.survey_response_issues(
                    parsed["responses"][1].frame, waves, items
                )

    # ---- writing ------------------------------------------------------------------------
    def _write_rows(self, spec: ExtractSpec, result: FileResult, entry) -> None:
        _, parsed_file = entry
        issues = parsed_file.issues
        bad_rows = {i.row_number for i in issues}
        frame = parsed_file.frame
        if bad_rows:
            frame = frame.filter(~pl.col("_row_number").is_in(sorted(bad_rows)))
        identifiers = [c.name for c in spec.columns if c.identifier]
        frame = frame.with_columns(self.pseudonymiser.column(frame[c]) for c in identifiers)
        # Lineage constants are added by DuckDB as constant vectors: materialising a 64-character
        # checksum on every row of a 20-million-row file in polars cost more than the load itself.
        lineage = {
            "_delivery_id": result.delivery_id,
            "_file_name": result.file_name,
            "_file_sha256": result.file_sha256,
            "_loaded_at": self.loaded_at,
        }
        public = [c.name for c in spec.columns if not c.restricted]
        self._insert(spec.raw_table, frame.select([*public, "_row_number"]), lineage)
        restricted = [c.name for c in spec.columns if c.restricted]
        if restricted:
            key = spec.columns[0].name
            self._insert(
                restricted_table(spec), frame.select([key, *restricted, "_row_number"]), lineage
            )
        if spec.replace_by:
            keys = frame.select(
                pl.col(spec.replace_by).cast(pl.String).unique().alias("replace_key")
            ).with_columns(
                pl.lit(spec.source).alias("source"),
                pl.lit(spec.entity).alias("entity"),
                pl.lit(result.file_sha256).alias("file_sha256"),
            )
            self._insert("ingest.file_keys", keys)
        result.rows_loaded = frame.height
        result.rows_quarantined = len(bad_rows)
        result.issues = [self._redacted(spec, i) for i in issues]

    def _insert(self, table: str, frame: pl.DataFrame, constants: dict | None = None) -> None:
        # Arrow handed over explicitly: DuckDB scans it a third faster than a polars frame.
        self.con.register("incoming_rows", frame.to_arrow())
        constants = constants or {}
        extra = "".join(f", ${name} as {name}" for name in constants)
        try:
            self.con.execute(
                f"insert into {table} by name select *{extra} from incoming_rows", constants
            )
        finally:
            self.con.unregister("incoming_rows")

    def _redacted(self, spec: ExtractSpec, issue: RowIssue) -> RowIssue:
        """Quarantine never holds a raw identifier: ids become their pseudonym."""
        if issue.value is None or issue.column is None:
            return issue
        column = next((c for c in spec.columns if c.name == issue.column), None)
        if column is not None and column.identifier:
            return RowIssue(
                issue.row_number,
                issue.column,
                self.pseudonymiser.pseudonym(issue.value),
                issue.reason,
            )
        return issue

    def _record(self, results: list[FileResult]) -> None:
        for result in results:
            self.con.execute(
                "insert into ingest.file_ledger values (nextval('ingest.load_seq'), ?, ?, ?, ?, "
                "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    self.run_id,
                    result.source,
                    result.delivery_id,
                    _sort_key(result.delivery_id),
                    result.entity,
                    result.file_name,
                    result.file_sha256,
                    result.status,
                    result.rows_read,
                    result.rows_loaded,
                    result.rows_quarantined,
                    result.dialect,
                    result.message,
                    json.dumps(result.notes),
                    self.loaded_at,
                ],
            )
            if result.issues:
                issues = pl.DataFrame(
                    {
                        "row_number": [i.row_number for i in result.issues],
                        "column_name": [i.column for i in result.issues],
                        "value": [i.value for i in result.issues],
                        "reason": [i.reason for i in result.issues],
                    },
                    schema={
                        "row_number": pl.Int64,
                        "column_name": pl.String,
                        "value": pl.String,
                        "reason": pl.String,
                    },
                ).with_columns(
                    pl.lit(self.run_id).alias("run_id"),
                    pl.lit(result.source).alias("source"),
                    pl.lit(result.delivery_id).alias("delivery_id"),
                    pl.lit(result.entity, pl.String).alias("entity"),
                    pl.lit(result.file_name).alias("file_name"),
                    pl.lit(result.file_sha256, pl.String).alias("file_sha256"),
                    pl.lit(self.loaded_at).alias("quarantined_at"),
                )
                self._insert("ingest.quarantine", issues)

    def _stray(self, stray: StrayFile, landing: Path) -> FileResult:
        relative = stray.path.relative_to(landing)
        message = f"{relative}: {stray.reason}; not loaded"
        rows = _count_records(stray.path)
        return FileResult(
            relative.parts[0],
            "",
            str(relative),
            None,
            "rejected",
            rows_read=rows,
            rows_quarantined=rows,
            file_sha256=sha256_of(stray.path),
            message=message,
            issues=[RowIssue(None, None, None, message)],
        )

    # ---- load semantics -----------------------------------------------------------------
    def _refresh_sources(self, sources: list[str]) -> None:
        """Inside the open transaction of the load."""
        for source in sources:
            self._refresh_current(source)
        self._stale -= set(sources)

    def _refresh_current(self, source: str) -> None:
        """Recompute which files are current for one source (small tables, not the raw rows)."""
        files = """
            select entity, file_sha256, max(delivery_sort_key) as latest_delivery,
                   max(load_seq) as seq
            from ingest.file_ledger
            where source = $source and status in ('loaded', 'duplicate')
            group by entity, file_sha256"""
        cutoff = (
            f"latest_delivery <= coalesce((select truth from ({self._hris_truth_sql()})), '')"
            if source == "hris"
            else "true"
        )
        self.con.execute(
            "delete from ingest.current_files where source = $source", {"source": source}
        )
        self.con.execute(
            "delete from ingest.current_deliveries where source = $source", {"source": source}
        )
        self.con.execute(
            f"""
            insert into ingest.current_deliveries
            select $source, arg_max(delivery_id, delivery_sort_key) from ingest.file_ledger
            where source = $source and status in ('loaded', 'duplicate')
              and {cutoff.replace("latest_delivery", "delivery_sort_key")}
            having count(*) > 0""",
            {"source": source},
        )
        self.con.execute(
            f"""
            insert into ingest.current_files
            with files as ({files})
            select $source, entity, file_sha256, null from files
            where {cutoff} and entity in (select unnest($snapshots::varchar[]))
            qualify row_number() over (partition by entity
                                       order by latest_delivery desc, seq desc) = 1""",
            {
                "source": source,
                "snapshots": [
                    s.entity for s in EXTRACTS if s.source == source and not s.replace_by
                ],
            },
        )
        self.con.execute(
            f"""
            insert into ingest.current_files
            with files as ({files})
            select $source, files.entity, files.file_sha256, keys.replace_key
            from files
            join ingest.file_keys as keys
              on keys.file_sha256 = files.file_sha256 and keys.entity = files.entity
             and keys.source = $source
            qualify row_number() over (partition by files.entity, keys.replace_key
                                       order by latest_delivery desc, seq desc) = 1""",
            {"source": source},
        )

    @staticmethod
    def _hris_truth_sql() -> str:
        """The newest HR delivery that carried every required snapshot entity."""
        required = [s.entity for s in EXTRACTS if s.source == "hris" and s.required_in_snapshot]
        listed = ", ".join(f"'{e}'" for e in required)
        return f"""
            select max(delivery_sort_key) as truth from (
                select delivery_sort_key from ingest.file_ledger
                where source = 'hris' and status in ('loaded', 'duplicate')
                  and entity in ({listed})
                group by delivery_sort_key
                having count(distinct entity) = {len(required)})"""


@dataclass
class _ReadFile:
    """A file read ahead: its checksum and its parse (or the reason it could not be parsed)."""

    sha256: str
    frame: ParsedFile | None = None
    rejection: FileRejected | None = None

    def parsed(self) -> ParsedFile:
        if self.rejection is not None:
            raise self.rejection
        return self.frame


def _read_files(delivery: Delivery, seen: frozenset[str] = frozenset()) -> dict[Path, _ReadFile]:
    """Hash every file of a delivery and parse those whose checksum is not in `seen` (files
    loaded or rejected before are never parsed: the load only records them as seen). Touches
    no database, so it can run ahead."""
    files = {}
    for path in delivery.files:
        entry = _ReadFile(sha256_of(path))
        spec = find_spec(delivery.source, path.stem)
        if (
            spec is not None
            and path.suffix.lower().lstrip(".") in FORMATS
            and entry.sha256 not in seen
        ):
            name = f"{delivery.source}/{delivery.delivery_id}/{path.name}"
            try:
                entry.frame = read_extract(path, spec, display_name=name)
            except FileRejected as rejection:
                entry.rejection = rejection
        files[path] = entry
    return files


def _sort_key(delivery_id: str) -> str:
    if not delivery_id:
        return ""
    return delivery_id if "T" in delivery_id else f"{delivery_id}T000000"


def _count_records(path: Path) -> int:
    """Best-effort record count of a file refused whole, so the ledger still balances."""
    try:
        if path.suffix.lower() == ".parquet":
            return pl.scan_parquet(path).select(pl.len()).collect().item()
        if path.suffix.lower() == ".xlsx":
            return pl.read_excel(path, infer_schema_length=0).height
        with path.open("rb") as handle:
            lines = sum(1 for line in handle if line.strip())
        return max(lines - 1, 0)
    except Exception:  # an unreadable file still has to be accounted for: count it as one
        return 1
