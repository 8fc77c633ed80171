"""The Dagster spine: definitions load, keys line up with dbt, schedule, sensor and writer lock."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ingestion.registry import EXTRACTS
from orchestration.defs.resources import PeoplemartHome


@pytest.fixture(scope="module")
def defs():
    from orchestration.definitions import defs

    return defs


def test_every_extract_is_a_raw_asset_that_dbt_staging_depends_on(defs):
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    for spec in EXTRACTS:
        key = dg.AssetKey(list(spec.key))
        assert key.to_user_string() in keys
        children = graph.get(key).child_keys
        assert any(child.path[-1].startswith("stg_") for child in children), key


def test_dbt_tests_are_asset_checks_and_raw_assets_have_balance_checks(defs):
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert ("hris/employees", "nothing_lost") in checks
    assert any(name.startswith("unique_stg_hris__employees") for _, name in checks)


def test_build_job_ingests_and_builds_but_publishes_nothing(defs):
    graph = defs.resolve_asset_graph()
    job = defs.resolve_job_def("build")
    selected = {key.to_user_string() for key in job.asset_layer.executable_asset_keys}
    assert "hris/employees" in selected
    assert any(key.endswith("fct_workforce_monthly") for key in selected)
    assert any(key.endswith("fct_retention_periods") for key in selected)
    publishing = {"kpi_tables", "survey_results", "publication_candidate", "serving_publication"}
    assert not publishing & selected
    everything = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert publishing <= everything


def test_nightly_schedule_runs_at_two_in_amsterdam(defs):
    schedule = defs.resolve_schedule_def("nightly_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Europe/Amsterdam"
    assert schedule.job_name == "nightly"


def test_sensor_requests_a_run_for_new_bytes_only(defs, small_landing, monkeypatch):
    monkeypatch.setenv("PEOPLEMART_LANDING", str(small_landing))
    sensor = defs.resolve_sensor_def("new_delivery_sensor")
    context = dg.build_sensor_context(cursor=None)
    first = sensor.evaluate_tick(context)
    assert len(first.run_requests) == 1
    again = sensor.evaluate_tick(dg.build_sensor_context(cursor=first.cursor))
    assert again.run_requests == [] and "no new deliveries" in again.skip_message


def test_key_file_is_created_once_private_and_outside_the_warehouse(tmp_path):
    home = PeoplemartHome(home=str(tmp_path), landing=str(tmp_path))
    first = home.pseudonymiser().pseudonym("100001")
    key_file = tmp_path / "secrets" / "pseudonymisation.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert home.pseudonymiser().pseudonym("100001") == first


def test_environment_key_wins_and_no_key_file_is_written(tmp_path):
    with_env = PeoplemartHome(
        home=str(tmp_path / "a"),
        landing=str(tmp_path),
        secret_key="an-organisation-secret-of-32-bytes",
    )
    pseudonym = with_env.pseudonymiser().pseudonym("1")
    assert not (tmp_path / "a" / "secrets").exists()
    without = PeoplemartHome(home=str(tmp_path / "b"), landing=str(tmp_path))
    assert pseudonym != without.pseudonymiser().pseudonym("1")


def test_a_second_writer_is_refused(tmp_path):
    from orchestration.runner import WriterBusy, writer_lock

    with (
        writer_lock(tmp_path),
        pytest.raises(WriterBusy, match="another peoplemart run"),
        writer_lock(tmp_path),
    ):
        pass


def test_runs_lists_the_runs_of_a_home_newest_first(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    runs = tmp_path / "runs"
    runs.mkdir()
    for run_id, started, success in (("old", 100.0, True), ("new", 200.0, False)):
        report = {
            "run_id": run_id, "success": success, "started_at": started,
            "finished_at": started + 5, "files": [{"rows_loaded": 3, "rows_quarantined": 1}],
            "checks": [{"asset": "hris/contracts", "check": "nothing_lost", "passed": success,
                        "severity": "ERROR"}],
            "failures": [] if success else ["warehouse_models: dbt build failed"],
        }  # fmt: skip
        (runs / f"{run_id}.json").write_text(json.dumps(report))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "peoplemart"), "runs", "--home", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and lines[1].startswith("new") and lines[2].startswith("old")
    assert "FAILED" in lines[1] and "hris/contracts nothing_lost" in lines[1]
    assert "succeeded" in lines[2]


def test_a_failed_run_leaves_an_alert_and_posts_it_to_the_webhook(tmp_path):
    import http.server
    import json
    import threading

    from orchestration.runner import RunReport, raise_alert

    received = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the standard library's name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.handle_request, daemon=True).start()
    report = RunReport(
        run_id="r1", success=False, started_at=0, finished_at=1, landing="l", home=str(tmp_path),
        checks=[{"asset": "hris/contracts", "check": "nothing_lost", "passed": False,
                 "severity": "ERROR"}],
        failures=["warehouse_models: dbt build failed"],
    )  # fmt: skip
    path = raise_alert(report, tmp_path, f"http://127.0.0.1:{server.server_port}/hook")
    server.server_close()
    alert = json.loads(path.read_text())
    assert path == tmp_path / "alerts" / "r1.json" and alert["webhook_status"] == 204
    assert received[0]["failed_checks"] == ["hris/contracts nothing_lost"]
    assert received[0]["failed_steps"] == ["warehouse_models: dbt build failed"]
    unreachable = raise_alert(report, tmp_path, "http://127.0.0.1:9/nowhere")
    assert "webhook_error" in json.loads(unreachable.read_text())


def test_dagster_dbt_is_told_the_installed_dbt_version_without_asking_the_executable(
    monkeypatch,
):
    from importlib.metadata import version

    import dagster_dbt.core.resource

    from orchestration.defs.resources import PeoplemartDbt
    from orchestration.project import DBT_EXECUTABLE, DBT_PROJECT_DIR

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"asked a subprocess: {args}")

    monkeypatch.setattr(dagster_dbt.core.resource, "check_output", no_subprocess)
    dbt = PeoplemartDbt(
        project_dir=str(DBT_PROJECT_DIR),
        profiles_dir=str(DBT_PROJECT_DIR),
        dbt_executable=DBT_EXECUTABLE,
    )
    assert str(dbt._cli_version) == version("dbt-core")
    # The version is right only because the dbt run is this environment's own.
    assert Path(DBT_EXECUTABLE).parent == Path(sys.executable).parent


def test_the_event_log_keeps_dagsters_files_and_their_readers_see_every_event(
    tmp_path, monkeypatch
):
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    from orchestration.dagster_storage import ReusingSqliteEventLogStorage
    from orchestration.runner import DAGSTER_YAML, EVENT_LOG_YAML

    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    events = dagster_home / "history" / "runs"
    (dagster_home / "dagster.yaml").write_text(DAGSTER_YAML + EVENT_LOG_YAML.format(events=events))

    @dg.asset
    def one() -> int:
        return 1

    @dg.asset_check(asset=one)
    def one_is_one() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    instance = dg.DagsterInstance.get()
    try:
        assert isinstance(instance.event_log_storage, ReusingSqliteEventLogStorage)
        runs = [dg.materialize([one], instance=instance, selection=[one]).run_id for _ in range(2)]
        runs.append(dg.materialize([one, one_is_one], instance=instance).run_id)
        # Every file (the index, each run's) commits without waiting for the disk: WAL, NORMAL.
        engines = instance.event_log_storage._engines
        assert len(engines) == 4
        for engine in engines.values():
            with engine.connect() as connection:
                assert connection.exec_driver_sql("pragma journal_mode").scalar() == "wal"
                assert connection.exec_driver_sql("pragma synchronous").scalar() == 1
    finally:
        instance.dispose()
    # Dagster's own storage (the UI, the daemon) reads the same files.
    stock = SqliteEventLogStorage(str(events))
    for run_id in runs:
        kinds = {entry.dagster_event_type for entry in stock.get_logs_for_run(run_id)
                 if entry.dagster_event_type}  # fmt: skip
        assert dg.DagsterEventType.ASSET_MATERIALIZATION in kinds
        assert dg.DagsterEventType.RUN_SUCCESS in kinds
    assert dg.DagsterEventType.ASSET_CHECK_EVALUATION in {
        entry.dagster_event_type for entry in stock.get_logs_for_run(runs[-1])
    }
    assert len(stock.get_all_run_ids()) == 3


def test_a_manifest_older_than_a_model_is_parsed_again_before_anything_reads_it(tmp_path):
    # Found on a benchmark night: the quality gate's checks were declared from a stale manifest
    # (the segment calendar still a table) and its run read the fresh one.
    import shutil

    from orchestration.dbt_manifest import load_manifest
    from orchestration.project import DBT_PROJECT_DIR

    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("logs"))
    manifest = project / "target" / "manifest.json"
    os.utime(manifest, (1_000_000_000, 1_000_000_000))
    model = project / "models" / "marts" / "people" / "fct_segment_calendar_monthly.sql"
    model.write_text(model.read_text().replace('materialized="view"', 'materialized="table"'))
    nodes = load_manifest(project)["nodes"]
    assert nodes["model.peoplemart.fct_segment_calendar_monthly"]["config"]["materialized"] == (
        "table"
    )
    assert manifest.stat().st_mtime > model.stat().st_mtime - 1


# Started by none of the heavy packages: a question the published tables hold was 6 s, 5 of them
# importing Dagster and dagster-dbt for two paths.
HEAVY_PACKAGES = {"dagster", "dagster_dbt", "dbt", "metricflow", "great_expectations"}
ASK_AND_LIST_MODULES = """
import json, sys
from orchestration.cli import main
code = main(["kpi", "headcount", "--grain", "year", "--format", "json", "--home", sys.argv[1]])
with open(sys.argv[2], "w") as modules:
    json.dump(sorted({name.split(".")[0] for name in sys.modules}), modules)
sys.exit(code)
"""


def test_a_kpi_answer_from_the_published_tables_loads_no_orchestrator_or_engine(tmp_path):
    duckdb.connect(str(tmp_path / "warehouse.duckdb")).close()
    with duckdb.connect(str(tmp_path / "serving.duckdb")) as con:
        con.execute("create schema kpi")
        con.execute("""create table kpi.metrics_year as
                       select 'headcount' as metric, date '2024-01-01' as period_start,
                              'total' as dimension, null::varchar as member, 120.0 as value""")
    result = subprocess.run(
        [sys.executable, "-c", ASK_AND_LIST_MODULES, str(tmp_path), str(tmp_path / "modules")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout) == [{"year": "2024-01-01", "headcount": 120.0}]
    modules = json.loads((tmp_path / "modules").read_text())
    assert "polars" in modules and not HEAVY_PACKAGES & set(modules)


# The command as installed, around a stand-in for `main`: an exit handler that must still run,
# an object that reports the interpreter's teardown, and (optionally) a thread still working.
EXIT_PROBE = """
import atexit, os, sys, threading, time
from orchestration import cli

class Teardown:
    write = staticmethod(os.write)
    def __del__(self):
        self.write(2, b"teardown ran")

probe = Teardown()

def main():
    atexit.register(lambda: open(sys.argv[1], "w").write("handled"))
    if sys.argv[2] == "thread":
        threading.Thread(target=time.sleep, args=(1,)).start()
    print("answer", end="")
    return 3

cli.main = main
cli.console_script()
"""


@pytest.mark.parametrize("thread", ["none", "thread"])
def test_the_command_exits_with_its_code_handlers_run_and_teardown_skipped_unless_a_thread_works(
    tmp_path, thread
):
    marker = tmp_path / "handled"
    result = subprocess.run(
        [sys.executable, "-c", EXIT_PROBE, str(marker), thread],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 3
    assert result.stdout == "answer"
    assert marker.read_text() == "handled"
    # Without a working thread the interpreter's teardown (2 s after a run, and DuckDB's
    # binding's leak warnings) is skipped; with one, the thread is waited for as usual.
    assert ("teardown ran" in result.stderr) == (thread == "thread")
