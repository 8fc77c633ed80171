"""The dbt target folders of a home: parse state, pruning, resuming a retried build, and which
build's tests the quality report lists."""

import json
import os
from pathlib import Path

from orchestration.dbt_targets import (
    KEPT_TARGETS,
    PARTIAL_PARSE,
    RUN_RESULTS,
    dbt_test_results,
    error_cause,
    failed_nodes,
    keep_partial_parse,
    new_target_folder,
    resume_arguments,
)


def test_a_home_keeps_its_own_dbt_parse_state_and_its_latest_target_folders(tmp_path):
    dbt_path = tmp_path / "dbt"

    def new_target(run: int):
        target = new_target_folder(dbt_path, f"run{run}")
        os.utime(target, (1e9 + run, 1e9 + run))
        return target

    first = new_target(1)
    assert not (first / PARTIAL_PARSE).exists()
    (first / PARTIAL_PARSE).write_bytes(b"state of run 1")
    os.utime(first, (1e9 + 1, 1e9 + 1))
    keep_partial_parse(first, dbt_path)
    second = new_target(2)
    assert (second / PARTIAL_PARSE).read_bytes() == b"state of run 1"
    # A build killed before dbt wrote its state leaves the home's state as it was.
    keep_partial_parse(new_target(3), dbt_path)
    assert (dbt_path / PARTIAL_PARSE).read_bytes() == b"state of run 1"
    for run in range(4, 3 + KEPT_TARGETS):
        new_target(run)
    kept = {p.name.split("-")[0] for p in (dbt_path / "targets").iterdir()}
    assert kept == {f"run{run}" for run in range(3, 3 + KEPT_TARGETS)}


def _attempt(dbt_path: Path, name: str, results: dict[str, str], at: float) -> Path:
    """A finished attempt whose run_results.json holds `results` (unique id: status)."""
    target = dbt_path / "targets" / name
    target.mkdir(parents=True)
    rows = [
        {"unique_id": node, "status": status, "failures": None} for node, status in results.items()
    ]
    (target / RUN_RESULTS).write_text(json.dumps({"metadata": {"attempt": name}, "results": rows}))
    os.utime(target / RUN_RESULTS, (at, at))
    return target


def test_a_retry_leaves_out_what_any_earlier_attempt_of_its_run_built(tmp_path):
    dbt_path = tmp_path / "dbt"
    run = "0f5c1e2a-77aa-4c1b-9d0e-2b7f3c4d5e6f"
    _attempt(dbt_path, "another-run-11111111", {"model.p.a": "error"}, 1e9)
    first = _attempt(
        dbt_path,
        f"{run}-aaaaaaaa",
        {"model.p.a": "success", "test.p.a_unique": "pass", "model.p.b": "error",
         "model.p.c": "skipped", "test.p.d_warns": "warn"},
        1e9 + 1,
    )  # fmt: skip
    target = new_target_folder(dbt_path, run)
    assert resume_arguments(dbt_path, "a-run-with-no-attempt", target) == []
    arguments = resume_arguments(dbt_path, run, target)
    assert arguments[:2] == ["--exclude", "result:success result:pass result:warn"]
    assert arguments[4:] == ["--indirect-selection", "empty"]
    state = Path(arguments[3])
    assert arguments[2] == "--state" and state.parent == target
    assert json.loads((state / RUN_RESULTS).read_text()) == json.loads(
        (first / RUN_RESULTS).read_text()
    )
    # The second attempt built b, and c failed: a third still skips a, and now b.
    _attempt(dbt_path, f"{run}-bbbbbbbb", {"model.p.b": "success", "model.p.c": "error"}, 1e9 + 2)
    third = new_target_folder(dbt_path, run)
    state = Path(resume_arguments(dbt_path, run, third)[3])
    merged = {
        r["unique_id"]: r["status"]
        for r in json.loads((state / RUN_RESULTS).read_text())["results"]
    }
    assert merged == {"model.p.a": "success", "test.p.a_unique": "pass", "model.p.b": "success",
                      "model.p.c": "error", "test.p.d_warns": "warn"}  # fmt: skip


def test_the_quality_report_lists_the_tests_of_its_own_run_or_of_the_build_it_publishes(tmp_path):
    dbt_path = tmp_path / "dbt"
    assert dbt_test_results(dbt_path, "run-x") == []
    _attempt(dbt_path, "old-11111111", {"test.p.t": "fail"}, 1e9)
    _attempt(dbt_path, "built-22222222", {"test.p.t": "error", "test.p.u": "pass"}, 1e9 + 1)
    _attempt(dbt_path, "built-33333333", {"test.p.t": "pass"}, 1e9 + 2)
    expected = {"test.p.t": "pass", "test.p.u": "pass"}
    statuses = {r["unique_id"]: r["status"] for r in dbt_test_results(dbt_path, "built")}
    assert statuses == expected
    # A run that built nothing (a publish) reports the newest build's tests.
    statuses = {r["unique_id"]: r["status"] for r in dbt_test_results(dbt_path, "publish-only")}
    assert statuses == expected
    statuses = {r["unique_id"]: r["status"] for r in dbt_test_results(dbt_path, "old")}
    assert statuses == {"test.p.t": "fail"}


def test_an_error_is_told_from_a_finding(tmp_path):
    """A test that errored (its statement did not complete: disk, memory) is retried like a model
    that did not build; a test that failed found rows, which the same data finds again."""
    attempt = _attempt(
        tmp_path,
        "run-aaaaaaaa",
        {"model.p.a": "success", "model.p.b": "error", "test.p.grain": "error",
         "test.p.rule": "fail", "unit_test.p.case": "fail", "test.p.ok": "pass"},
        1e9,
    )  # fmt: skip
    assert failed_nodes(attempt / RUN_RESULTS) == (
        ["model.p.b", "test.p.grain"],
        ["test.p.rule", "unit_test.p.case"],
    )
    assert failed_nodes(tmp_path / "killed" / RUN_RESULTS) == ([], [])


def test_an_error_is_reported_by_what_stopped_it(tmp_path):
    """The first errored node's cause, as DuckDB said it, without dbt's heading and advice."""
    attempt = _attempt(tmp_path, "run-bbbbbbbb", {"model.p.a": "success", "test.p.grain": "error",
                                                  "model.p.b": "error"}, 1e9)  # fmt: skip
    results = json.loads((attempt / RUN_RESULTS).read_text())
    results["results"][1]["message"] = (
        "Runtime Error in test grain (models/x.yml)\n  Out of Memory Error: failed to allocate "
        "data of size 128.0 MiB (2.5 GiB/2.6 GiB used)\n  \n  Possible solutions:\n  * Reducing"
    )
    (attempt / RUN_RESULTS).write_text(json.dumps(results))
    assert error_cause(attempt / RUN_RESULTS) == (
        "Out of Memory Error: failed to allocate data of size 128.0 MiB (2.5 GiB/2.6 GiB used)"
    )
    assert error_cause(tmp_path / "killed" / RUN_RESULTS) == ""
