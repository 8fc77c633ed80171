"""`make bench-ingest`: generation and ingestion rows/s against DuckDB's own readers.

The baseline reads the same files with DuckDB `read_csv`/`read_parquet` into tables (no
validation, no pseudonymisation): the floor of what parsing alone costs on this machine.
"""

import argparse
import datetime as dt
import shutil
import tempfile
from pathlib import Path

import duckdb

from bench.measure import as_dict, machine_facts, measured, write_results
from generator.deliveries import GeneratorConfig, generate
from ingestion.load import Loader
from ingestion.privacy import Pseudonymiser


def duckdb_baseline(landing: Path, database: Path) -> int:
    rows = 0
    with duckdb.connect(str(database)) as con:
        for index, path in enumerate(sorted(landing.rglob("*"))):
            if ".truth" in path.parts or path.suffix not in (".csv", ".parquet"):
                continue
            reader = (
                f"read_parquet('{path}')"
                if path.suffix == ".parquet"
                else f"read_csv('{path}', encoding='{_encoding(path)}')"
            )
            con.execute(f"create table t{index} as select * from {reader}")
            rows += con.execute(f"select count(*) from t{index}").fetchall()[0][0]
    return rows


def _encoding(path: Path) -> str:
    head = path.read_bytes()[:4096]
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "latin-1"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="peoplemart-bench-"))
    landing = work / "landing"
    shutil.rmtree(work, ignore_errors=True)
    start = dt.date(2025 - args.years + 1, 1, 1)
    with measured("generate") as generation:
        summary = generate(
            GeneratorConfig(out=landing, employees=args.employees, years=args.years, start=start)
        )
    generated_rows = sum(summary.rows.values())
    generation.extra = {
        "rows": generated_rows,
        "files": summary.files,
        "rows_per_second": round(generated_rows / generation.seconds),
    }
    with measured("ingest") as ingestion, duckdb.connect(str(work / "w.duckdb")) as con:
        report = Loader(
            con, Pseudonymiser(b"bench-key-bench-key-bench-key-00"), "bench"
        ).load_landing(landing)
    ingestion.extra = {
        "rows_read": sum(f.rows_read for f in report.files),
        "rows_quarantined": report.rows_quarantined,
    }
    ingestion.extra["rows_per_second"] = round(ingestion.extra["rows_read"] / ingestion.seconds)
    with measured("duckdb_read_baseline") as baseline:
        baseline_rows = duckdb_baseline(landing, work / "baseline.duckdb")
    baseline.extra = {
        "rows": baseline_rows,
        "rows_per_second": round(baseline_rows / baseline.seconds),
    }
    ratio = ingestion.extra["rows_per_second"] / baseline.extra["rows_per_second"]
    payload = {
        "employees": args.employees,
        "years": args.years,
        "machine": machine_facts(),
        "stages": [as_dict(s) for s in (generation, ingestion, baseline)],
        "ingest_speed_vs_duckdb": round(ratio, 3),
        "target": "ingestion at least 0.5 x DuckDB read speed",
    }
    markdown = "\n".join(
        [
            f"# Ingestion benchmark: {args.employees:,} employees x {args.years} years",
            "",
            "| stage | seconds | peak RSS MB | rows | rows/s |",
            "|---|---:|---:|---:|---:|",
            *(
                f"| {s.name} | {s.seconds} | {s.peak_rss_mb} | "
                f"{s.extra.get('rows', s.extra.get('rows_read'))} | "
                f"{s.extra['rows_per_second']:,} |"
                for s in (generation, ingestion, baseline)
            ),
            "",
            f"Ingestion speed / DuckDB read speed: **{ratio:.2f}** (target >= 0.5).",
            "",
        ]
    )
    path = write_results("ingest", payload, markdown)
    print(markdown)
    print(f"results: {path}")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
