"""Answer KPI questions through MetricFlow: the governed definitions, never SQL of our own.

MetricFlow answers whole months (the facts' grain) and silently widens a range that does not
start and end on period boundaries; this module refuses such a range instead.
"""

import calendar
import datetime as dt
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

GRAINS = ("month", "quarter", "year")
# The names users type -> MetricFlow's entity-qualified dimension names.
DIMENSIONS = {
    **{
        name: f"segment__{name}"
        for name in (
            "org_unit",
            "job_family",
            "contract_type",
            "gender",
            "age_band",
            "tenure_band",
            "cost_center",
            "manager",
        )
    },
    **{f"org_level_{level}": f"segment__org_level_{level}" for level in range(1, 5)},
    "initiative": "workforce_month__initiative",
    "reason_code": "workforce_month__reason_code",
}


class KpiQueryError(ValueError):
    """A question the metrics layer cannot answer exactly; the message says why."""


@dataclass(frozen=True)
class KpiQuery:
    metrics: list[str]
    start: dt.date | None = None
    end: dt.date | None = None
    grain: str | None = None
    by: tuple[str, ...] = ()


def _period_start(day: dt.date, grain: str) -> dt.date:
    month = {"month": day.month, "quarter": 3 * ((day.month - 1) // 3) + 1, "year": 1}[grain]
    return dt.date(day.year, month, 1)


def _period_end(day: dt.date, grain: str) -> dt.date:
    month = {"month": day.month, "quarter": 3 * ((day.month - 1) // 3) + 3, "year": 12}[grain]
    return dt.date(day.year, month, calendar.monthrange(day.year, month)[1])


def validate(query: KpiQuery, known_metrics: set[str]) -> None:
    unknown = [m for m in query.metrics if m not in known_metrics]
    if unknown:
        raise KpiQueryError(
            f"unknown metric(s): {', '.join(unknown)}; "
            f"available: {', '.join(sorted(known_metrics))}"
        )
    bad = [d for d in query.by if d not in DIMENSIONS]
    if bad:
        raise KpiQueryError(
            f"unknown dimension(s): {', '.join(bad)}; available: {', '.join(DIMENSIONS)}"
        )
    if query.grain is not None and query.grain not in GRAINS:
        raise KpiQueryError(f"grain must be one of {', '.join(GRAINS)}")
    # Facts are monthly: a range inside a month would be answered for the whole month.
    grain = query.grain or "month"
    if query.start and query.start != _period_start(query.start, grain):
        raise KpiQueryError(
            f"--from {query.start} is not the first day of a {grain}; the metrics are exact for "
            f"whole {grain}s only, and a silently widened range would be a wrong answer "
            f"(use --from {_period_start(query.start, grain)})"
        )
    if query.end and query.end != _period_end(query.end, grain):
        raise KpiQueryError(
            f"--to {query.end} is not the last day of a {grain}; the metrics are exact for "
            f"whole {grain}s only (use --to {_period_end(query.end, grain)})"
        )
    if query.start and query.end and query.start > query.end:
        raise KpiQueryError("--from is after --to")


def known_metrics(project_dir: Path) -> set[str]:
    manifest = json.loads((project_dir / "target" / "semantic_manifest.json").read_text())
    return {m["name"] for m in manifest["metrics"]}


def run_query(query: KpiQuery, project_dir: Path, home: Path, mf_executable: str) -> pl.DataFrame:
    """Run the query with MetricFlow's `mf query` against the warehouse in `home`."""
    validate(query, known_metrics(project_dir))
    group_by = [f"metric_time__{query.grain}"] if query.grain else []
    group_by += [DIMENSIONS[d] for d in query.by]
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "result.csv"
        command = [
            mf_executable,
            "query",
            "--metrics",
            ",".join(query.metrics),
            "--csv",
            str(out),
            "--decimals",
            "6",
            "--quiet",
        ]
        if group_by:
            command += ["--group-by", ",".join(group_by), "--order", ",".join(group_by)]
        if query.start:
            command += ["--start-time", query.start.isoformat()]
        if query.end:
            command += ["--end-time", query.end.isoformat()]
        env = {
            **os.environ,
            "PEOPLEMART_HOME": str(home),
            "DBT_PROFILES_DIR": str(project_dir),
            "PEOPLEMART_DBT_TARGET": "readonly",
            "DO_NOT_TRACK": "1",
        }
        result = subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True)
        if result.returncode != 0 or not out.exists():
            raise KpiQueryError(
                f"MetricFlow could not answer: {result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
        frame = pl.read_csv(out, infer_schema_length=None)
    renames = {f"metric_time__{query.grain}": query.grain} if query.grain else {}
    renames |= {DIMENSIONS[d]: d for d in query.by}
    frame = frame.rename({k: v for k, v in renames.items() if k in frame.columns})
    if query.grain and query.grain in frame.columns:
        frame = frame.with_columns(pl.col(query.grain).str.slice(0, 10))
    return frame


def render(frame: pl.DataFrame, output_format: str) -> str:
    if output_format == "csv":
        return frame.write_csv()
    if output_format == "json":
        return json.dumps(frame.to_dicts(), indent=2, default=str)
    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        float_precision=4,
        tbl_width_chars=200,
    ):
        return str(frame)
