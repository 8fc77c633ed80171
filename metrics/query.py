"""Answer KPI questions through MetricFlow: the governed definitions, never SQL of our own.

MetricFlow answers whole months (the facts' grain) and silently widens a range that does not
start and end on period boundaries; this module refuses such a range instead.
"""

import calendar
import datetime as dt
import json
import os
import subprocess
import sys
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
    "span_band": "manager_month__span_band",
    "vacancy_status": "vacancy__vacancy_status",
    "duration_class": "sick_spell__duration_class",
    "milestone": "poortwachter_milestone__milestone",
    "milestone_status": "poortwachter_milestone__milestone_status",
    "reconciliation_status": "reconciliation_month__reconciliation_status",
    "scenario": "spp_scenario_year__scenario",
}
PROJECTION_YEAR = "projection_year"
# Metrics of a whole calendar period (retention) exist once per grain as `<name>_<grain>`.
ROLLING_SUFFIX = "_rolling_12m"


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


def _per_grain_metrics(known_metrics: set[str]) -> set[str]:
    suffix = f"_{GRAINS[0]}"
    bases = {name.removesuffix(suffix) for name in known_metrics if name.endswith(suffix)}
    return {b for b in bases if all(f"{b}_{grain}" in known_metrics for grain in GRAINS)}


def _single_period_grain(query: KpiQuery) -> str | None:
    """The grain for which --from..--to is exactly one calendar period, if any."""
    if not (query.start and query.end):
        return None
    for grain in GRAINS:
        if query.start == _period_start(query.start, grain) and query.end == _period_end(
            query.start, grain
        ):
            return grain
    return None


def resolve_metrics(query: KpiQuery, known_metrics: set[str]) -> dict[str, str]:
    """The user's metric names -> the MetricFlow metrics that answer them for this question."""
    per_grain = _per_grain_metrics(known_metrics)
    resolved = {}
    for name in query.metrics:
        if name in per_grain:
            grain = query.grain or _single_period_grain(query)
            if grain is None:
                raise KpiQueryError(
                    f"{name} is defined per calendar month, quarter or year: give --grain, or "
                    "--from/--to spanning exactly one month, quarter or year"
                )
            resolved[name] = f"{name}_{grain}"
        elif name.endswith(ROLLING_SUFFIX) and query.grain is None:
            raise KpiQueryError(
                f"{name} is a value per period end (the 12 months up to it): give --grain"
            )
        else:
            resolved[name] = name
    return resolved


def validate(query: KpiQuery, known_metrics: set[str]) -> dict[str, str]:
    available = known_metrics | _per_grain_metrics(known_metrics)
    unknown = [m for m in query.metrics if m not in available]
    if unknown:
        raise KpiQueryError(
            f"unknown metric(s): {', '.join(unknown)}; available: {', '.join(sorted(available))}"
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
    return resolve_metrics(query, known_metrics)


def _semantic_manifest(project_dir: Path) -> dict:
    return json.loads((project_dir / "target" / "semantic_manifest.json").read_text())


def known_metrics(project_dir: Path) -> set[str]:
    return {m["name"] for m in _semantic_manifest(project_dir)["metrics"]}


def check_event_dimensions(query: KpiQuery, resolved: dict[str, str], manifest: dict) -> None:
    """Refuse, with a reason, a split by an attribute some of the metrics' records do not have.

    An exit's reason applies only to metrics computed from the workforce events, a span band only
    to span of control; finance rows carry an org unit and cost center but no gender (their
    semantic model lists its `segment_dimensions`).
    """
    owner, allowed = {}, {}
    for model in manifest["semantic_models"]:
        meta = (model.get("config") or {}).get("meta") or {}
        for measure in model["measures"]:
            owner[measure["name"]] = model["primary_entity"]
            allowed[measure["name"]] = meta.get("segment_dimensions")
    inputs = {m["name"]: m["type_params"]["input_measures"] for m in manifest["metrics"]}
    for dimension in query.by:
        entity = DIMENSIONS[dimension].split("__")[0]
        attribute = "org_unit" if dimension.startswith("org_level_") else dimension

        unsplittable = [
            asked
            for asked, answered in resolved.items()
            if not all(
                owner[m["name"]] == entity
                if entity != "segment"
                else allowed[m["name"]] is None or attribute in allowed[m["name"]]
                for m in inputs[answered]
            )
        ]
        if unsplittable:
            raise KpiQueryError(
                f"--by {dimension}: {', '.join(unsplittable)} cannot be split by it (its records "
                "do not carry that attribute; ask for it separately)"
            )


def mf_csv(
    metrics: list[str],
    group_by: list[str],
    project_dir: Path,
    home: Path,
    mf_executable: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pl.DataFrame:
    """One `mf query` against the warehouse in `home`, read back as a frame."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "result.csv"
        command = [
            mf_executable,
            "query",
            "--metrics",
            ",".join(metrics),
            "--csv",
            str(out),
            "--decimals",
            "6",
            "--quiet",
        ]
        if group_by:
            command += ["--group-by", ",".join(group_by), "--order", ",".join(group_by)]
        if start:
            command += ["--start-time", start.isoformat()]
        if end:
            command += ["--end-time", end.isoformat()]
        env = {
            **os.environ,
            "PEOPLEMART_HOME": str(home),
            "DBT_PROFILES_DIR": str(project_dir),
            "PEOPLEMART_DBT_TARGET": "readonly",
            "DO_NOT_TRACK": "1",
        }
        result = subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True)
        if result.returncode == 0 and not out.exists():
            # MetricFlow writes no file for an empty answer (e.g. no survey delivered yet).
            return pl.DataFrame(
                schema={**dict.fromkeys(group_by, pl.String), **dict.fromkeys(metrics, pl.Float64)}
            )
        if result.returncode != 0:
            raise KpiQueryError(
                f"MetricFlow could not answer: {result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
        return pl.read_csv(out, infer_schema_length=None)


def run_query(
    query: KpiQuery,
    project_dir: Path,
    home: Path,
    mf_executable: str,
    use_published: bool = True,
) -> pl.DataFrame:
    """Run the query with MetricFlow's `mf query` against the warehouse in `home`; survey
    figures come from the published results, where the anonymity rules have been applied."""
    from metrics import survey

    if survey.is_survey_question(query.metrics):
        return survey.answer_survey(query, home)
    if PROJECTION_YEAR in query.by:
        # Projection years are the metrics' time axis: --by projection_year = --grain year.
        if query.grain not in (None, "year"):
            raise KpiQueryError("--by projection_year needs --grain year (or no --grain)")
        by = tuple(d for d in query.by if d != PROJECTION_YEAR)
        frame = run_query(
            KpiQuery(query.metrics, query.start, query.end, "year", by),
            project_dir,
            home,
            mf_executable,
            use_published,
        )
        return frame.rename({"year": PROJECTION_YEAR})
    manifest = _semantic_manifest(project_dir)
    resolved = validate(query, {m["name"] for m in manifest["metrics"]})
    check_event_dimensions(query, resolved, manifest)
    published = _from_published_tables(query, resolved, home) if use_published else None
    if published is not None:
        return published
    group_by = [f"metric_time__{query.grain}"] if query.grain else []
    group_by += [DIMENSIONS[d] for d in query.by]
    frame = mf_csv(
        list(resolved.values()), group_by, project_dir, home, mf_executable, query.start, query.end
    )
    renames = {f"metric_time__{query.grain}": query.grain} if query.grain else {}
    renames |= {DIMENSIONS[d]: d for d in query.by}
    renames |= {answered: asked for asked, answered in resolved.items()}
    frame = frame.rename({k: v for k, v in renames.items() if k in frame.columns})
    # A metric with no value anywhere in the answer is read back as text; it is a number.
    frame = frame.with_columns(
        pl.col(name).replace("", None).cast(pl.Float64)
        for name in query.metrics
        if frame.schema.get(name) == pl.String
    )
    if query.grain and query.grain in frame.columns:
        frame = frame.with_columns(pl.col(query.grain).str.slice(0, 10))
    return frame


def _from_published_tables(query: KpiQuery, resolved: dict[str, str], home: Path):
    """The same answer read from the published KPI tables, when they hold the question (a grain
    and at most one split): no metrics engine to start. None: ask MetricFlow."""
    from metrics.kpi_tables import read_published

    if (
        not query.grain
        or len(query.by) > 1
        or os.environ.get("PEOPLEMART_KPI_ENGINE") == "metricflow"
    ):
        return None
    frame = read_published(
        home / "serving.duckdb",
        query.grain,
        list(resolved.values()),
        query.by[0] if query.by else None,
        query.start,
        query.end,
    )
    if frame is None:
        return None
    print("(answered from the published KPI tables in serving.duckdb)", file=sys.stderr)
    return frame.rename({answered: asked for asked, answered in resolved.items()})


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
