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
