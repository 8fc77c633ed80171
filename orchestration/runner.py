"""Run the Dagster pipeline in-process for one home and landing folder, and report on it.

Wiring only: the run is the same `nightly` job the schedule and sensor start; this module adds
the writer lock, a compact progress display and the machine-readable run report.
"""

import fcntl
import json
import logging
import os
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from ingestion.duckdb_memory import MEMORY_LIMIT_ENV
from orchestration.sizing import DBT_THREADS_ENV, sized_environment

DAGSTER_YAML = """\
telemetry:
  enabled: false
concurrency:
  runs:
    tag_concurrency_limits:
      - key: peoplemart/warehouse-writer
        limit: 1
# Runs the daemon starts (schedule, sensor) are started again when the run itself crashed (its
# worker died); a run with a failed step or check is not: failed data checks are never retried.
run_retries:
  enabled: true
  max_retries: 2
  retry_on_asset_or_op_failure: false
"""


# Dagster's own SQLite files, in the place its default storage keeps them
# (orchestration/dagster_storage.py: why not its default class).
EVENT_LOG_YAML = """\
event_log_storage:
  module: orchestration.dagster_storage
  class: ReusingSqliteEventLogStorage
  config:
    base_dir: {events}
"""


class WriterBusy(RuntimeError):
    """Another run holds the warehouse: one writer at a time."""


@contextmanager
def writer_lock(home: Path):
    home.mkdir(parents=True, exist_ok=True)
    handle = (home / ".writer.lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise WriterBusy(
            f"another peoplemart run is writing to {home}; try again when it ends"
        ) from None
    try:
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def prepare_environment(home: Path, landing: Path) -> None:
    """Point resources, dbt and Dagster at this home; telemetry of every tool off; DuckDB's
    memory bound sized for this night unless the environment sets it (dbt's profile and every
    step read it from there)."""
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text(
        DAGSTER_YAML + EVENT_LOG_YAML.format(events=dagster_home / "history" / "runs")
    )
    os.environ.update(
        {
            "PEOPLEMART_HOME": str(home),
            "PEOPLEMART_LANDING": str(landing),
            "DAGSTER_HOME": str(dagster_home),
            "DO_NOT_TRACK": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            **sized_environment(landing, home / "warehouse.duckdb"),
        }
    )


@dataclass
class RunReport:
    run_id: str
    success: bool
    started_at: float
    finished_at: float
    landing: str
    home: str
    files: list[dict] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    retries: list[dict] = field(default_factory=list)
    retention: dict = field(default_factory=dict)
    duckdb_memory_limit: str = ""
    dbt_threads: str = ""
    # The first KPI period this run computed, or "every period" (metrics/kpi_tables.py).
    kpi_periods_computed_from: str = ""

    @property
    def failed_checks(self) -> list[dict]:
        return [c for c in self.checks if not c["passed"] and c["severity"] == "ERROR"]

    def write(self, home: Path) -> Path:
        path = home / "runs" / f"{self.run_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2, default=str))
        return path


class _ProgressHandler(logging.Handler):
    """Prints one line per step start/end and every warning, instead of Dagster's full log."""

    def __init__(self, echo):
        # Dagster logs a retry at DEBUG; emit() prints only the events named there.
        super().__init__(logging.DEBUG)
        self.echo = echo

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key") or ""
        kind = getattr(event, "event_type_value", None)
        if kind == "STEP_START":
            self.echo(f"  ▶ {step}")
        elif kind == "STEP_SUCCESS":
            self.echo(f"  ✔ {step}")
        elif kind == "STEP_UP_FOR_RETRY":
            self.echo(f"  ↻ {step}: crashed, trying again: {_innermost_error(event)[:300]}")
        elif kind == "STEP_FAILURE":
            self.echo(f"  ✘ {step}: {_innermost_error(event)[:400]}")
        elif record.levelno >= logging.WARNING and event is None:
            self.echo(f"    ! {meta.get('orig_message', record.getMessage())}")


def run_pipeline(home: Path, landing: Path, echo=print, job_name: str = "nightly") -> RunReport:
    import dagster as dg

    prepare_environment(home, landing)
    from orchestration.definitions import defs

    handler = _ProgressHandler(echo)

    @dg.logger
    def progress(_context):
        log = logging.getLogger("peoplemart.progress")
        log.handlers = [handler]
        log.setLevel(logging.DEBUG)
        log.propagate = False
        return log

    job = defs.resolve_job_def(job_name).with_logger_defs({"progress": progress})
    started = time.time()
    with writer_lock(home), dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance, raise_on_error=False, run_config={"loggers": {"progress": {}}}
        )
        steps = _step_timings(instance, result.run_id)
    report = RunReport(
        run_id=result.run_id,
        success=result.success,
        started_at=started,
        finished_at=time.time(),
        landing=str(landing),
        home=str(home),
        steps=steps,
        duckdb_memory_limit=os.environ[MEMORY_LIMIT_ENV],
        dbt_threads=os.environ[DBT_THREADS_ENV],
    )
    # A retried step evaluates its checks again (a dbt test that errored on a crash and passed
    # on the retry): a check counts as its last evaluation in the run, in event order.
    latest = {}
    for evaluation in result.get_asset_check_evaluations():
        asset = evaluation.asset_key.to_user_string()
        latest[(asset, evaluation.check_name)] = {
            "asset": asset,
            "check": evaluation.check_name,
            "passed": evaluation.passed,
            "severity": evaluation.severity.value,
        }
    report.checks = list(latest.values())
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            report.failures.append(f"{event.step_key}: {_innermost_error(event)}")
        elif event.event_type_value == "STEP_UP_FOR_RETRY":
            report.retries.append({"step": event.step_key, "error": _innermost_error(event)})
    report.files = _file_results(home / "warehouse.duckdb", result.run_id)
    for materialization in result.asset_materializations_for_node("kpi_tables"):
        computed_from = materialization.metadata.get("periods_computed_from")
        if computed_from is not None:
            report.kpi_periods_computed_from = computed_from.value
    retention = home / "retention" / f"{result.run_id}.json"
    if retention.exists():
        report.retention = json.loads(retention.read_text())
    return report


def _innermost_error(event) -> str:
    data = event.event_specific_data
    error = getattr(data, "error", None)
    # Dagster wraps the step's own exception: the innermost cause says what failed.
    while error is not None and error.cause is not None:
        error = error.cause
    return error.message.strip() if error else ""


def _step_timings(instance, run_id: str) -> list[dict]:
    starts, steps = {}, []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not event.step_key:
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            steps.append(
                {
                    "step": event.step_key,
                    "status": event.event_type_value,
                    "seconds": round(
                        entry.timestamp - starts.get(event.step_key, entry.timestamp), 2
                    ),
                    # Wall-clock bounds: a benchmark attributes sampled memory to the step.
                    "started_at": starts.get(event.step_key, entry.timestamp),
                    "finished_at": entry.timestamp,
                }
            )
    return steps


def _file_results(warehouse: Path, run_id: str) -> list[dict]:
    if not warehouse.exists():
        return []
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.IOException:
        # Someone else holds the warehouse (the crash this run may have failed on): the ledger
        # keeps the file results, and the next run reports them.
        return []
    with con:
        rows = con.execute(
            "select source, delivery_id, entity, file_name, file_sha256, status, rows_read, "
            "rows_loaded, rows_quarantined, dialect, message, notes from ingest.file_ledger "
            "where run_id = ? order by load_seq",
            [run_id],
        ).fetchall()
    columns = [
        "source",
        "delivery_id",
        "entity",
        "file_name",
        "file_sha256",
        "status",
        "rows_read",
        "rows_loaded",
        "rows_quarantined",
        "dialect",
        "message",
        "notes",
    ]
    return [dict(zip(columns, row, strict=True)) for row in rows]


def raise_alert(report: RunReport, home: Path, webhook: str | None) -> Path:
    """A failed night leaves an alert file and, when configured, posts it to a webhook (chat,
    incident tool). A webhook that cannot be reached is noted in the file, never fatal."""
    alert = {
        "run_id": report.run_id,
        "home": report.home,
        "failed_steps": report.failures,
        "failed_checks": [f"{c['asset']} {c['check']}" for c in report.failed_checks],
        "see": f"peoplemart runs --home {home}; report {home / 'runs' / (report.run_id + '.json')}",
    }
    if webhook:
        request = urllib.request.Request(
            webhook,
            data=json.dumps(alert).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                alert["webhook_status"] = response.status
        except (urllib.error.URLError, TimeoutError) as error:
            alert["webhook_error"] = str(error)
    path = home / "alerts" / f"{report.run_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(alert, indent=2))
    return path
