"""The gate in front of publishing: run the suites, write the report, and let the publisher ask
whether this run passed. The publisher refuses without a passing gate of its own run, whatever
the orchestrator does, so a publication can never skip its checks."""

import json
import os
import shutil
from pathlib import Path

from ingestion.retention import pending_keys
from quality.report import write_report
from quality.suites import ERROR, SuiteResult, build_suites, run_suites

REPORTS = "quality"


class QualityGateFailed(RuntimeError):
    """A blocking check failed (or never ran): the previous publication stays in place."""


def report_dir(home: Path, run_id: str) -> Path:
    return home / REPORTS / run_id


def run_gate(
    home: Path, run_id: str, dbt_manifest: dict, dbt_results: list[dict]
) -> tuple[list[SuiteResult], Path]:
    suites = build_suites(
        dbt_manifest, previous_publication=home / "serving.duckdb", removed_keys=pending_keys(home)
    )
    results = run_suites(suites, home / "warehouse.duckdb")
    report = write_report(results, run_id, report_dir(home, run_id), dbt_results)
    (home / REPORTS / "LATEST").write_text(run_id + "\n")
    # The newest report under a fixed name, for bookmarks (each run keeps its own folder).
    latest = home / REPORTS / "latest.html"
    staged = latest.with_suffix(".html.next")
    shutil.copyfile(report, staged)
    os.replace(staged, latest)
    return results, report


def require_passed_gate(home: Path, run_id: str) -> None:
    results_file = report_dir(home, run_id) / "results.json"
    if not results_file.exists():
        raise QualityGateFailed(f"no quality gate ran for run {run_id}: nothing is published")
    results = json.loads(results_file.read_text())
    failed = [
        f"{s['asset']} {s['suite']}"
        for s in results["suites"]
        if not s["passed"] and s["severity"] == ERROR
    ]
    if failed:
        raise QualityGateFailed(
            f"quality gate failed ({', '.join(failed)}); "
            f"report: {results_file.parent / 'index.html'}"
        )
