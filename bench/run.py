"""`make bench`: the whole pipeline per size (generate, then `peoplemart run`), timed, peak RSS.

Each size runs in a fresh folder; the pipeline runs in a child process so its memory (and dbt's)
is measured as one process tree, the way a nightly run would use the machine.
"""

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.measure import as_dict, machine_facts, measured, write_results
from generator.deliveries import GeneratorConfig, generate

PEOPLEMART = str(Path(sys.executable).parent / "peoplemart")


DBT_TARGET = Path(__file__).resolve().parents[1] / "dbt_project" / "target"


def dbt_seconds_by_area() -> dict[str, float]:
    """Model build seconds of the newest dbt build, per area (workforce, absence, finance, ...),
    from dbt's run_results.json: which marts the time goes to."""
    runs = sorted(DBT_TARGET.glob("*/run_results.json"), key=lambda p: p.stat().st_mtime)
    if not runs:
        return {}
    manifest = json.loads((runs[-1].parent / "manifest.json").read_text())
    areas: dict[str, float] = {}
    for result in json.loads(runs[-1].read_text())["results"]:
        node = manifest["nodes"].get(result["unique_id"])
        if not node or node["resource_type"] != "model":
            continue
        path = node["original_file_path"].split("/")
        area = "/".join(path[1:3]) if len(path) > 3 else path[1]
        areas[area] = round(areas.get(area, 0) + result["execution_time"], 1)
    return dict(sorted(areas.items(), key=lambda item: -item[1]))


def bench_size(employees: int, years: int, work: Path) -> dict:
    landing, home = work / "landing", work / "home"
    with measured("generate") as generation:
        summary = generate(
            GeneratorConfig(
                out=landing, employees=employees, years=years, start=dt.date(2025 - years + 1, 1, 1)
            )
        )
    generation.extra = {"rows": sum(summary.rows.values()), "files": summary.files}
    with measured("pipeline") as pipeline:
        result = subprocess.run(
            [PEOPLEMART, "run", "--landing", str(landing), "--home", str(home)],
            capture_output=True,
            text=True,
        )
    if result.returncode != 0:
        raise SystemExit(
            f"pipeline failed at {employees} employees:\n{result.stdout[-4000:]}"
            f"\n{result.stderr[-4000:]}"
        )
    report = json.loads(next((home / "runs").glob("*.json")).read_text())
    pipeline.extra = {
        "steps": report["steps"],
        "dbt_model_seconds_by_area": dbt_seconds_by_area(),
        "rows_loaded": sum(f["rows_loaded"] for f in report["files"]),
    }
    with measured("incremental_night") as incremental:
        subprocess.run(
            [PEOPLEMART, "run", "--landing", str(landing), "--home", str(home)],
            capture_output=True,
            text=True,
            check=True,
        )
    return {
        "employees": employees,
        "years": years,
        "stages": [as_dict(s) for s in (generation, pipeline, incremental)],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--employees",
        default="10000,100000",
        help="comma-separated sizes, e.g. 10000,100000,1000000",
    )
    parser.add_argument("--years", type=int, default=10)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.employees.split(",")]
    results = []
    for employees in sizes:
        work = Path(tempfile.mkdtemp(prefix=f"peoplemart-bench-{employees}-"))
        try:
            results.append(bench_size(employees, args.years, work))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(json.dumps(results[-1]["stages"], indent=1, default=str))
    lines = [
        "# Pipeline benchmark",
        "",
        f"{args.years} years; machine: {machine_facts()}",
        "",
        "| employees | stage | seconds | peak RSS MB |",
        "|---:|---|---:|---:|",
    ]
    for result in results:
        for stage in result["stages"]:
            lines.append(
                f"| {result['employees']:,} | {stage['name']} | {stage['seconds']} | "
                f"{stage['peak_rss_mb']} |"
            )
            # The pipeline's own steps (ingest, dbt build, survey results, catalog, publish),
            # and where the dbt build's time goes, by area of the warehouse.
            extra = stage.get("extra") or {}
            for step in extra.get("steps", []):
                lines.append(
                    f"| {result['employees']:,} | &nbsp;&nbsp;{stage['name']}: {step['step']} | "
                    f"{step['seconds']} | |"
                )
            for area, seconds in extra.get("dbt_model_seconds_by_area", {}).items():
                lines.append(
                    f"| {result['employees']:,} | &nbsp;&nbsp;&nbsp;&nbsp;dbt models in {area} | "
                    f"{seconds} | |"
                )
    lines += [
        "",
        "`incremental_night` re-runs on the same landing: every file is already in the "
        "ledger, so it measures the fixed cost of a night with nothing new (Dagster, dbt "
        "parse and build of the views, tests).",
        "",
    ]
    markdown = "\n".join(lines)
    path = write_results("pipeline", {"machine": machine_facts(), "results": results}, markdown)
    print(markdown)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
