"""The `peoplemart` command: generate synthetic deliveries, run the pipeline, run the demo."""

import argparse
import atexit
import datetime as dt
import os
import sys
import threading
from collections import defaultdict
from pathlib import Path


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (YYYY-MM-DD)") from None


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="peoplemart", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser(
        "generate", help="write a synthetic Dutch organisation's deliveries to a landing folder"
    )
    generate.add_argument("--out", type=Path, required=True, help="landing folder to write")
    _generator_options(generate)

    run = commands.add_parser("run", help="ingest, build and test: the whole pipeline, in-process")
    run.add_argument("--landing", type=Path, required=True, help="folder the deliveries land in")
    run.add_argument(
        "--home",
        type=Path,
        required=True,
        help="folder for warehouse.duckdb, run reports and the key file",
    )
    _postgres_option(run)

    build = commands.add_parser(
        "build",
        help="ingest and build the warehouse with its tests; no KPI tables, no publication",
    )
    build.add_argument("--landing", type=Path, required=True, help="folder the deliveries land in")
    build.add_argument("--home", type=Path, required=True)

    publish = commands.add_parser(
        "publish",
        help="KPI tables, quality gate and publication again from the warehouse as it stands",
    )
    publish.add_argument("--home", type=Path, required=True)
    _postgres_option(publish)

    grant = commands.add_parser(
        "grant-manager",
        help="create a PostgreSQL manager role that sees only its org units and their subtrees",
    )
    grant.add_argument("role", help="role name (lower case, digits, _), e.g. mgr_divisie_noord")
    grant.add_argument("--org-unit", action="append", required=True, metavar="ID")
    grant.add_argument("--home", type=Path, required=True)
    grant.add_argument(
        "--password-env", metavar="VAR", help="environment variable holding the role's password"
    )
    _postgres_option(grant)

    serve_pg = commands.add_parser(
        "postgres", help="start the embedded PostgreSQL of a home for BI tools; print its DSN"
    )
    serve_pg.add_argument("--home", type=Path, required=True)

    kpi = commands.add_parser("kpi", help="answer KPIs through the metrics layer (MetricFlow)")
    kpi.add_argument("metrics", help="metric name(s), comma-separated, e.g. headcount,fte")
    kpi.add_argument("--home", type=Path, required=True, help="the home `peoplemart run` built")
    kpi.add_argument("--from", dest="start", type=_date, help="first day (of a month/period)")
    kpi.add_argument("--to", dest="end", type=_date, help="last day (of a month/period)")
    kpi.add_argument(
        "--grain",
        choices=["month", "quarter", "year"],
        help="one row per period; without it the whole range is one period",
    )
    kpi.add_argument(
        "--by",
        action="append",
        default=[],
        metavar="DIM",
        help="group by a dimension (repeatable): org_unit, org_level_1..4, "
        "job_family, contract_type, gender, age_band, tenure_band, cost_center, manager, "
        "initiative, reason_code, span_band, duration_class, milestone, milestone_status, "
        "reconciliation_status, scenario, projection_year; survey metrics: wave, construct",
    )
    kpi.add_argument("--format", choices=["table", "csv", "json"], default="table")
    kpi.add_argument(
        "--source",
        choices=["auto", "metricflow"],
        default="auto",
        help="auto: the published KPI tables when they hold the question, else MetricFlow",
    )

    dev = commands.add_parser("dev", help="the Dagster UI (schedule, sensor, runs) for a home")
    dev.add_argument("--landing", type=Path, default=Path("demo/landing"))
    dev.add_argument("--home", type=Path, default=Path("demo/home"))
    dev.add_argument("--port", type=int, default=3000)

    runs = commands.add_parser("runs", help="the last runs of a home, newest first, with status")
    runs.add_argument("--home", type=Path, required=True)
    runs.add_argument("--last", type=int, default=10)

    demo = commands.add_parser("demo", help="generate + run into ./demo and say what to open")
    demo.add_argument("--dir", type=Path, default=Path("demo"))
    demo.add_argument(
        "--postgres",
        default="embedded",
        metavar="DSN|embedded|none",
        help="where the demo also publishes (default: an embedded PostgreSQL in the home)",
    )
    _generator_options(demo)

    bench = commands.add_parser(
        "bench",
        help="the pipeline timed against a hand-written DuckDB query and pandas (bench/results)",
    )
    # No defaults here: the benchmark owns them, and a results page's command line then shows
    # what was asked for, not options a mode such as --memory-floor ignores.
    bench.add_argument("--employees", help="comma-separated sizes (default: the scale's)")
    bench.add_argument("--years", type=int, help="years of history (default 10)")
    bench.add_argument(
        "--scale",
        choices=["standard", "large"],
        help="standard (default): 10,000 and 100,000 employees; large: also 1,000,000",
    )
    bench.add_argument(
        "--until",
        choices=["publication", "warehouse"],
        help="publication (default): full and incremental nights with the baselines; "
        "warehouse: only a full `peoplemart build` (ingestion and the dbt build), for sizes "
        "whose whole night takes hours",
    )
    bench.add_argument(
        "--landing",
        type=Path,
        help="with --until warehouse and one size: a landing folder generated before for it",
    )
    bench.add_argument(
        "--no-incremental",
        action="store_true",
        help="the full night only, not the incremental night after it (at a million employees "
        "that night takes about as long again)",
    )
    bench.add_argument("--name", help="results file name under bench/results (default: pipeline)")
    bench.add_argument(
        "--publish",
        type=Path,
        metavar="HOME",
        help="with one --employees size: measure `peoplemart publish` on a home a kept "
        "--until warehouse run built (PEOPLEMART_BENCH_KEEP=1)",
    )
    bench.add_argument(
        "--combine",
        metavar="NAME,NAME",
        help="run nothing: one results page (--name) from the sizes of these results files, e.g. "
        "pipeline,pipeline_1m",
    )
    bench.add_argument(
        "--memory-floor",
        metavar="MODEL,MODEL",
        help="run no night: the smallest DuckDB bound (of --bounds) each dbt model builds under, "
        "on the warehouse of --home (its newest dbt build's compiled SQL)",
    )
    bench.add_argument("--home", type=Path, help="with --memory-floor: a home a night built")
    bench.add_argument(
        "--bounds", help="with --memory-floor: comma-separated bounds (default 10GB down to 2GB)"
    )
    return parser


def _postgres_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--postgres",
        metavar="DSN|embedded",
        help="also publish to PostgreSQL: a DSN, or `embedded` for a pgserver in <home>/postgres "
        "(default: PEOPLEMART_POSTGRES_DSN)",
    )


def _generator_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--employees", type=_positive, default=2000)
    parser.add_argument("--years", type=_positive, default=5)
    parser.add_argument("--start", type=_date, default=dt.date(2021, 1, 1))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--snapshots",
        type=_positive,
        default=3,
        help="HR snapshots delivered (month-ends at the end of the period)",
    )


def cmd_generate(args) -> int:
    from generator.deliveries import GeneratorConfig, generate

    summary = generate(
        GeneratorConfig(
            out=args.out,
            employees=args.employees,
            years=args.years,
            start=args.start,
            seed=args.seed,
            snapshots=args.snapshots,
        )
    )
    print(f"wrote {summary.files} files in {summary.deliveries} deliveries to {summary.out}")
    for entity, rows in sorted(summary.rows.items()):
        print(f"  {entity:<20} {rows:>12,} rows")
    return 0


def print_summary(report) -> None:
    print()
    print(
        f"run {report.run_id}: {'succeeded' if report.success else 'FAILED'} in "
        f"{report.finished_at - report.started_at:.1f}s (DuckDB memory bound "
        f"{report.duckdb_memory_limit}, dbt threads {report.dbt_threads})"
    )
    totals = defaultdict(lambda: [0, 0, 0, 0, 0])
    for f in report.files:
        t = totals[f["source"]]
        t[0] += 1
        t[1] += f["rows_read"]
        t[2] += f["rows_loaded"]
        t[3] += f["rows_quarantined"]
        t[4] += f["status"] == "duplicate"
    print(
        f"  {'source':<10}{'files':>7}{'rows read':>12}{'loaded':>12}{'quarantined':>13}"
        f"{'dupl.':>7}"
    )
    for source, (files, read, loaded, quarantined, duplicates) in sorted(totals.items()):
        print(f"  {source:<10}{files:>7}{read:>12,}{loaded:>12,}{quarantined:>13,}{duplicates:>7}")
    if not report.files:
        print("  no new files (everything landed was loaded before)")
    loaded = [f for f in report.files if f["status"] != "duplicate"]
    if loaded:
        print(f"  {'file':<52}{'status':>10}{'read':>10}{'loaded':>10}{'quarantined':>13}")
    for f in loaded:
        name = f"{f['source']}/{f['delivery_id']}/{f['file_name']}"
        print(
            f"  {name:<52}{f['status']:>10}{f['rows_read']:>10,}{f['rows_loaded']:>10,}"
            f"{f['rows_quarantined']:>13,}"
        )
    duplicates = len(report.files) - len(loaded)
    if duplicates:
        print(f"  ({duplicates} files byte-identical to files loaded before: not loaded again)")
    problems = [f for f in report.files if f["status"] == "rejected" or f["rows_quarantined"]]
    if problems:
        print("  quarantined (every row in ingest.quarantine with row, column, value and reason):")
        for f in problems:
            what = f["message"] or f"{f['rows_quarantined']} of {f['rows_read']} rows quarantined"
            print(f"    {f['source']}/{f['delivery_id']}/{f['file_name']}: {what}")
    if report.retention:
        removed = sum(report.retention["rows_removed"].values())
        print(
            f"  retention (as of {report.retention['as_of']}): "
            f"{report.retention['people_removed']} people past their window removed, "
            f"{removed:,} rows; {report.retention['people_waiting_for_frozen_periods']} wait "
            "for their periods to be frozen"
        )
    passed = sum(c["passed"] for c in report.checks)
    print(f"  checks: {passed} passed, {len(report.checks) - passed} failed")
    for check in report.checks:
        if not check["passed"]:
            print(f"    {check['severity']:<5} {check['asset']} {check['check']}")
    for failure in report.failures:
        print(f"  failed step {failure}")


def cmd_run(args, job_name: str = "nightly") -> int:
    from ingestion.duckdb_memory import NightSettingError
    from metrics.published import MartsNotBuilt, publishable_path
    from orchestration.defs.resources import alert_webhook_from_env
    from orchestration.runner import WriterBusy, raise_alert, run_pipeline

    command = "run" if job_name == "nightly" else job_name
    ingests = job_name in ("nightly", "build")
    home, landing = args.home.resolve(), args.landing.resolve()
    if ingests and not landing.is_dir():
        print(f"peoplemart {command}: landing folder {landing} does not exist", file=sys.stderr)
        return 2
    if not ingests and not (home / "warehouse.duckdb").exists():
        print(f"peoplemart {command}: no warehouse in {home}", file=sys.stderr)
        return 2
    if not ingests and not publishable_path(home / "warehouse.duckdb").exists():
        # Told before a run starts; the file is not opened here, a running night may hold it.
        print(f"peoplemart {command}: {MartsNotBuilt(home / 'warehouse.duckdb')}", file=sys.stderr)
        return 2
    print(f"peoplemart {command}: {landing} -> {home}")
    if getattr(args, "postgres", None):
        os.environ["PEOPLEMART_POSTGRES"] = args.postgres
    try:
        report = run_pipeline(home, landing, job_name=job_name)
    except WriterBusy as busy:
        print(f"peoplemart {command}: {busy}", file=sys.stderr)
        return 3
    except NightSettingError as setting:
        print(f"peoplemart {command}: {setting}", file=sys.stderr)
        return 2
    print_summary(report)
    path = report.write(home)
    print(f"  run report: {path}")
    if not report.success or report.failed_checks:
        alert = raise_alert(report, home, alert_webhook_from_env())
        print(f"  alert: {alert}", file=sys.stderr)
        print(f"peoplemart {command}: the run failed; see the failures above", file=sys.stderr)
        return 1
    return 0


def cmd_build(args) -> int:
    return cmd_run(args, job_name="build")


def cmd_publish(args) -> int:
    # Ingestion does not run: the landing folder is not read.
    args.landing = args.home / "landing"
    return cmd_run(args, job_name="publish")


def cmd_grant_manager(args) -> int:
    from metrics.postgres import PostgresPublishError, grant_manager
    from orchestration.defs.resources import PeoplemartHome

    target = args.postgres or os.environ.get("PEOPLEMART_POSTGRES_DSN")
    if not target:
        print("peoplemart grant-manager: give --postgres DSN|embedded", file=sys.stderr)
        return 2
    password = os.environ.get(args.password_env) if args.password_env else None
    home = PeoplemartHome(home=str(args.home), landing=str(args.home), postgres=target)
    try:
        with home.postgres_dsn() as dsn:
            grant_manager(dsn, args.role, args.org_unit, password)
    except PostgresPublishError as error:
        print(f"peoplemart grant-manager: {error}", file=sys.stderr)
        return 2
    print(f"role {args.role} sees org units {', '.join(args.org_unit)} and their subtrees in bi.*")
    return 0


def cmd_postgres(args) -> int:
    from metrics.embedded_postgres import embedded_postgres

    with embedded_postgres(args.home.resolve(), keep_running=True) as dsn:
        print(dsn)
    print("(running until the machine stops or `pg_ctl stop -D <home>/postgres`)", file=sys.stderr)
    return 0


def cmd_kpi(args) -> int:
    from metrics.query import KpiQuery, KpiQueryError, render, run_query
    from orchestration.dbt_manifest import ensure_manifest
    from orchestration.project import DBT_EXECUTABLE, DBT_PROJECT_DIR

    home = args.home.resolve()
    if not (home / "warehouse.duckdb").exists():
        print(
            f"peoplemart kpi: no warehouse in {home}; run `peoplemart run` first", file=sys.stderr
        )
        return 2
    ensure_manifest()
    query = KpiQuery(
        metrics=[m.strip() for m in args.metrics.split(",") if m.strip()],
        start=args.start,
        end=args.end,
        grain=args.grain,
        by=tuple(args.by),
    )
    mf = str(Path(DBT_EXECUTABLE).parent / "mf")
    try:
        frame = run_query(query, DBT_PROJECT_DIR, home, mf, args.source == "auto")
    except KpiQueryError as error:
        print(f"peoplemart kpi: {error}", file=sys.stderr)
        return 2
    text = render(frame, args.format)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def cmd_runs(args) -> int:
    import json

    reports = sorted(
        (json.loads(p.read_text()) for p in (args.home / "runs").glob("*.json")),
        key=lambda r: r["started_at"],
        reverse=True,
    )[: args.last]
    if not reports:
        print(f"no runs in {args.home / 'runs'}")
        return 0
    print(f"{'run id':36}  {'started (UTC)':19}  {'status':9}  {'seconds':>7}  "
          f"{'rows loaded':>11}  {'quarantined':>11}  failed")  # fmt: skip
    for report in reports:
        started = dt.datetime.fromtimestamp(report["started_at"], dt.UTC)
        failed = [
            f"{c['asset']} {c['check']}" for c in report["checks"] if not c["passed"]
        ] + report["failures"]
        print(
            f"{report['run_id']:36}  {started:%Y-%m-%d %H:%M:%S}  "
            f"{'succeeded' if report['success'] else 'FAILED':9}  "
            f"{report['finished_at'] - report['started_at']:7.1f}  "
            f"{sum(f['rows_loaded'] for f in report['files']):>11,}  "
            f"{sum(f['rows_quarantined'] for f in report['files']):>11,}  "
            f"{'; '.join(failed)[:80]}"
        )
    return 0


def cmd_dev(args) -> int:
    from orchestration.runner import prepare_environment

    prepare_environment(args.home.resolve(), args.landing.resolve())
    os.environ["DAGSTER_IS_DEV_CLI"] = "1"
    dagster = str(Path(sys.executable).parent / "dagster")
    command = [
        dagster,
        "dev",
        "-m",
        "orchestration.definitions",
        "-h",
        "127.0.0.1",
        "-p",
        str(args.port),
    ]
    print(f"Dagster UI on http://127.0.0.1:{args.port} (home {args.home}); Ctrl-C stops it")
    os.execv(dagster, command)
    return 0


def cmd_demo(args) -> int:
    base = args.dir.resolve()
    args.out = base / "landing"
    if args.out.exists():
        print(f"using the deliveries already in {args.out} (delete {base} to regenerate)")
    else:
        cmd_generate(args)
    args.landing, args.home = args.out, base / "home"
    if args.postgres == "none":
        args.postgres = None
    status = cmd_run(args)
    print()
    print("Where things are:")
    print(f"  deliveries (landing):  {args.landing}")
    print(
        f"  warehouse:             {args.home / 'warehouse.duckdb'}  (staging, intermediate, "
        "raw_*, current_*, ingest; restricted and survey_private are never published)"
    )
    print(
        f"  publishable:           {args.home / 'publishable.duckdb'}  (marts: the dimensions and "
        "facts for BI; survey: anonymity-checked survey results; kpi: the KPI tables; a "
        "connection to the warehouse attaches it)"
    )
    print(
        f"  for BI tools:          {args.home / 'serving.duckdb'} (marts, survey, kpi; every row "
        f"with its run id) and Parquet in {args.home / 'exports'}"
    )
    print(
        f"  dashboard:             {args.home / 'dashboard.html'}  (open in any browser, offline)"
    )
    print(f"  quality report:        {args.home / 'quality' / 'latest.html'}")
    if args.postgres:
        print(
            f"  PostgreSQL (bi views): schema bi; start it for BI tools with "
            f".venv/bin/peoplemart postgres --home {args.home}"
        )
    print("  quarantine and ledger: ingest.quarantine, ingest.file_ledger in the warehouse")
    print(f"  run reports:           {args.home / 'runs'}")
    # Before the generated period the history holds only the people employed at its start.
    first = args.start.replace(month=1, day=1)
    last = dt.date(args.start.year + args.years - 1, 12, 31)
    print(
        f"  KPIs:                  .venv/bin/peoplemart kpi headcount,average_headcount,"
        f"turnover_rate,verzuim_pct,revenue_per_fte --home {args.home} --grain year "
        f"--from {first} --to {last}"
    )
    print(
        f"  survey (anonymity applied): .venv/bin/peoplemart kpi engagement_index,enps,"
        f"response_rate --home {args.home} --by org_level_2"
    )
    print("  Dagster UI:            make dev  (then open http://127.0.0.1:3000)")
    return status


def cmd_bench(args: argparse.Namespace) -> int:
    # The benchmark lives beside the package (bench/), as the generator does.
    from bench.run import main as bench_main

    options = []
    if args.years is not None:
        options += ["--years", str(args.years)]
    if args.scale:
        options += ["--scale", args.scale]
    if args.until:
        options += ["--until", args.until]
    if args.employees:
        options += ["--employees", args.employees]
    if args.landing:
        options += ["--landing", str(args.landing.resolve())]
    if args.no_incremental:
        options.append("--no-incremental")
    if args.name:
        options += ["--name", args.name]
    if args.combine:
        options += ["--combine", args.combine]
    if args.publish:
        options += ["--publish", str(args.publish.resolve())]
    if args.memory_floor:
        options += ["--memory-floor", args.memory_floor]
    if args.home:
        options += ["--home", str(args.home.resolve())]
    if args.bounds:
        options += ["--bounds", args.bounds]
    bench_main(options)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {
        "generate": cmd_generate,
        "run": cmd_run,
        "kpi": cmd_kpi,
        "dev": cmd_dev,
        "demo": cmd_demo,
        "runs": cmd_runs,
        "build": cmd_build,
        "publish": cmd_publish,
        "grant-manager": cmd_grant_manager,
        "postgres": cmd_postgres,
        "bench": cmd_bench,
    }
    handler = handlers[args.command]
    return handler(args)


def console_script() -> None:
    """The installed `peoplemart` command: `main`, then an exit without the interpreter's
    teardown. After a pipeline run that teardown took 1.9 s (the module graphs of Dagster, dbt,
    MetricFlow and Great Expectations are freed one object at a time), and DuckDB 2.0's binding
    (nanobind) at times printed some forty lines of "leaked instance" warnings about its own
    type objects after the run's summary. Every exit handler still runs (log flushing, temporary
    files, lock release), and an exception leaves the ordinary way, with its traceback."""
    code = main()
    if any(
        t.is_alive() and not t.daemon
        for t in threading.enumerate()
        if t is not threading.main_thread()
    ):
        # A thread still working is waited for, as the interpreter would.
        sys.exit(code)
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    console_script()
