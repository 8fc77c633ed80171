"""The dbt target folders a home keeps: one per dbt build attempt, named after the Dagster run,
holding dbt's logs, compiled SQL and run_results.json. A retried build resumes from them, and
the quality report reads the tests of the build it reports on from them."""

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

# Target folders of the latest dbt builds kept in the home.
KEPT_TARGETS = 10
PARTIAL_PARSE = "partial_parse.msgpack"
RUN_RESULTS = "run_results.json"
# What a retry does not build again: models built and tests run by an earlier attempt of the
# same run. Errors, skips and nodes a killed attempt never reached are built.
DONE_STATUSES = ("success", "pass", "warn")
PREVIOUS_ATTEMPTS = "previous_attempts"


def new_target_folder(dbt_path: Path, run_id: str) -> Path:
    """A fresh dbt target folder in the home, holding the home's last partial-parse state.

    dbt reparses the whole project (6 s) when the profile differs from the last parse, and the
    profile names the warehouse path, so the state parsed for one home is useless to another:
    each home keeps its own. (dagster-dbt would otherwise copy the project's, parsed for the
    demo home, and leave a target folder per run in the project.)"""
    runs = dbt_path / "targets"
    runs.mkdir(parents=True, exist_ok=True)
    for old in sorted(runs.iterdir(), key=lambda p: p.stat().st_mtime)[: -KEPT_TARGETS + 1]:
        shutil.rmtree(old, ignore_errors=True)
    target = runs / f"{run_id}-{uuid.uuid4().hex[:8]}"
    _create_with_home_state(target, dbt_path)
    return target


def _create_with_home_state(target: Path, dbt_path: Path) -> None:
    """A new target folder holding the home's last partial-parse state, when it has one."""
    target.mkdir(parents=True)
    if (dbt_path / PARTIAL_PARSE).exists():
        shutil.copy(dbt_path / PARTIAL_PARSE, target / PARTIAL_PARSE)


def keep_partial_parse(target: Path, dbt_path: Path) -> None:
    """The state this build parsed becomes the home's; replaced whole, as a killed run may
    stop anywhere (dbt reparses from scratch when the state is unreadable anyway)."""
    parsed = target / PARTIAL_PARSE
    if parsed.exists():
        staged = dbt_path / f".{PARTIAL_PARSE}.{uuid.uuid4().hex[:8]}"
        shutil.copy(parsed, staged)
        os.replace(staged, dbt_path / PARTIAL_PARSE)


PARSE_AHEAD = "parse-ahead"
# A parse that has not ended in this time is left to the build, which parses as it always did.
PARSE_AHEAD_WAIT_SECONDS = 120


def start_parse_ahead(dbt, dbt_path: Path):
    """dbt's parse of the project for this home, started while ingestion loads the extracts: a
    parse reads no data and opens no database, and ingestion leaves part of a core idle. The
    build then finds the home's state parsed with its own profile and parses nothing again. On
    a home's first night that is a whole parse (6.5 s against 3.2 s with the state, on the
    100,000-employee home), on later nights the check of every file."""
    for earlier in dbt_path.glob(f"{PARSE_AHEAD}-*"):
        # Left by a night killed while it parsed.
        shutil.rmtree(earlier, ignore_errors=True)
    target = dbt_path / f"{PARSE_AHEAD}-{uuid.uuid4().hex[:8]}"
    try:
        _create_with_home_state(target, dbt_path)
        return dbt.cli(["parse"], raise_on_error=False, target_path=target)
    except OSError:
        # No dbt to start or no room for its folder: the load goes on, and the build meets
        # the same problem and reports it where it belongs.
        shutil.rmtree(target, ignore_errors=True)
        return None


def finish_parse_ahead(invocation, dbt_path: Path) -> bool:
    """The parse's state becomes the home's when the parse succeeded; whether it did. A parse
    that failed, did not start or did not end in time changes nothing: the build parses for
    itself."""
    if invocation is None:
        return False
    try:
        # Its log read to the end, not left in the pipe, where a full pipe would stop dbt.
        invocation.process.communicate(timeout=PARSE_AHEAD_WAIT_SECONDS)
        parsed = invocation.process.returncode == 0
    except subprocess.TimeoutExpired:
        invocation.process.kill()
        invocation.process.communicate()
        parsed = False
    if parsed:
        keep_partial_parse(invocation.target_path, dbt_path)
    shutil.rmtree(invocation.target_path, ignore_errors=True)
    return parsed


def failed_nodes(run_results: Path) -> tuple[list[str], list[str]]:
    """(nodes that errored, tests that failed). An error is dbt's word for a statement that did
    not complete, a model's or a test's (memory, disk, a lock): worth another attempt. A failed
    test completed and found rows: a finding about the data, which the same data finds again."""
    if not run_results.exists():
        return [], []
    results = json.loads(run_results.read_text())["results"]
    errored = [r["unique_id"] for r in results if r["status"] == "error"]
    return errored, [r["unique_id"] for r in results if r["status"] == "fail"]


def error_cause(run_results: Path) -> str:
    """What stopped the first node that errored, in the database's words ("Out of Memory
    Error: ..."), without dbt's heading and advice: the line a retried night is reported by."""
    if not run_results.exists():
        return ""
    for result in json.loads(run_results.read_text())["results"]:
        if result["status"] == "error":
            lines = [line.strip() for line in (result.get("message") or "").splitlines()]
            # dbt heads the message with "Runtime Error in <node> (<file>)".
            detail = [line for line in lines[1:] if line]
            return detail[0] if detail else (lines[0] if lines else "")
    return ""


def run_of(target: Path) -> str:
    """The Dagster run a target folder's build attempt belongs to."""
    return target.name.rsplit("-", 1)[0]


def finished_attempts(dbt_path: Path) -> list[Path]:
    """Target folders of the builds that got as far as writing their results (a killed dbt
    writes none), oldest first."""
    targets = dbt_path / "targets"
    if not targets.exists():
        return []
    finished = [p for p in targets.iterdir() if (p / RUN_RESULTS).exists()]
    return sorted(finished, key=lambda p: (p / RUN_RESULTS).stat().st_mtime)


def attempts_of(dbt_path: Path, run_id: str) -> list[Path]:
    return [p for p in finished_attempts(dbt_path) if run_of(p) == run_id]


def reported_attempts(dbt_path: Path, run_id: str) -> list[Path]:
    """The attempts whose tests a run's quality report lists: the run's own, or, for a run that
    built nothing (a publish of an existing warehouse), those of the build that made it."""
    finished = finished_attempts(dbt_path)
    if not finished:
        return []
    return attempts_of(dbt_path, run_id) or attempts_of(dbt_path, run_of(finished[-1]))


def merged_results(attempts: list[Path]) -> dict | None:
    """dbt's run results of a run's attempts as one: each node as its latest attempt left it."""
    if not attempts:
        return None
    merged = json.loads((attempts[-1] / RUN_RESULTS).read_text())
    latest: dict[str, dict] = {}
    for attempt in attempts:
        for result in json.loads((attempt / RUN_RESULTS).read_text())["results"]:
            latest[result["unique_id"]] = result
    merged["results"] = list(latest.values())
    return merged


def resume_arguments(dbt_path: Path, run_id: str, target: Path) -> list[str]:
    """dbt build arguments for a retried attempt: leave out what earlier attempts of this run
    built and tested. A retry follows a crash (memory, disk, a lock); at a million employees the
    whole build is an hour, and the model that crashed is minutes.

    dbt selects on one earlier result (`result:` against `--state`): the attempts' results are
    merged into one in the new target folder, so a third attempt also skips what the first built."""
    earlier = attempts_of(dbt_path, run_id)
    if not earlier:
        return []
    state = target / PREVIOUS_ATTEMPTS
    state.mkdir()
    (state / RUN_RESULTS).write_text(json.dumps(merged_results(earlier)))
    done = " ".join(f"result:{status}" for status in DONE_STATUSES)
    # By default dbt also leaves out every test of a node left out (eager indirect selection):
    # a test that failed, or one that never ran, on a model the first attempt built. `empty`
    # leaves out exactly the nodes named.
    return ["--exclude", done, "--state", str(state), "--indirect-selection", "empty"]


def dbt_test_results(dbt_path: Path, run_id: str) -> list[dict]:
    """dbt's results, node by node, of the build a run's quality report covers."""
    merged = merged_results(reported_attempts(dbt_path, run_id))
    return merged["results"] if merged else []
