"""KPI tables: every governed metric materialised through MetricFlow at month, quarter and year
grain, per dimension member, so BI tools and the dashboard read numbers without a metrics engine.

MetricFlow writes the SQL (in-process: its engine plans a query and renders DuckDB SQL); DuckDB
runs it on the warehouse. Nothing here computes a KPI of its own. One long table per grain:

    kpi.metrics_<grain>(metric, period_start, dimension, member, value)

`dimension` is `total` (member null) or one of the `peoplemart kpi --by` names, so a published row
answers exactly the question `peoplemart kpi METRIC --grain G --by D` would. The org tree appears
as `org_level_N` rows: member = a unit at that level, value = that unit with its whole subtree.
Survey metrics are not here: they are published, anonymity applied, in `survey.*`.
"""

import datetime as dt
import hashlib
import json
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from ingestion.retention import FROZEN_BOUNDARY, FROZEN_SCHEMA
from metrics.query import DIMENSIONS, GRAINS, PROJECTION_YEAR

KPI_SCHEMA = "kpi"
TOTAL = "total"
# The splits every KPI table carries (where a metric's records have the attribute). The leaf
# org unit and the manager are left to `peoplemart kpi`: the org levels already give every
# unit with its subtree, and a table per manager would mostly repeat the org tree.
TABLE_DIMENSIONS = (
    *(f"org_level_{level}" for level in range(1, 5)),
    "job_family",
    "contract_type",
    "gender",
    "age_band",
    "tenure_band",
    "cost_center",
)
# Monthly figures are read as trends per org unit; the other splits per quarter and year.
MONTH_DIMENSIONS = (*(f"org_level_{level}" for level in range(1, 5)), "job_family", "contract_type")
# Cost centers split finance figures; HR figures are split by org unit instead.
FINANCE_ONLY = "cost_center"
# Splits that belong to one kind of record only (exit reasons to leavers, classes to spells).
EVENT_DIMENSIONS = ("reason_code", "duration_class", "milestone_status", "reconciliation_status")
# Rolling windows are costly to compute (MetricFlow joins every month to its window over the dense
# calendar) and are read as the organisation's trend: month grain, whole organisation. Splits of
# them are answered by `peoplemart kpi`.
ROLLING_DIMENSIONS: tuple[str, ...] = ()
# A projection or gap is only meaningful per scenario: never summed across scenarios.
ALWAYS_SPLIT_BY = {"spp_gap": "scenario"}
SURVEY_MODEL_PREFIX = "survey_"


def table_name(grain: str) -> str:
    return f"{KPI_SCHEMA}.metrics_{grain}"


@dataclass(frozen=True)
class MetricGroup:
    """Metrics read from the same semantic models: one MetricFlow query answers them together."""

    models: tuple[str, ...]
    metrics: tuple[str, ...]
    grains: tuple[str, ...]
    dimensions: tuple[str, ...]
    forced: str | None


class _ExplainOnlyClient:
    """MetricFlow needs a SQL client only for the dialect when it explains a query."""

    def __init__(self):
        from metricflow.protocols.sql_client import SqlEngine
        from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer

        self.sql_engine_type = SqlEngine.DUCKDB
        self.sql_plan_renderer = DuckDbSqlPlanRenderer()

    def render_bind_parameter_key(self, key: str) -> str:
        return f"${key}"


class MetricSql:
    """MetricFlow's SQL for a question, from the project's semantic manifest.

    The SQL depends only on the metric definitions, not on the data: it is kept beside the
    semantic manifest (keyed by its hash) so a night asks MetricFlow to plan only what changed.
    """

    def __init__(self, project_dir: Path):
        self._project_dir = project_dir
        manifest = project_dir / "target" / "semantic_manifest.json"
        digest = hashlib.sha256(manifest.read_bytes()).hexdigest()[:16]
        self._cache_path = manifest.with_name(f"kpi_sql_{digest}.json")
        self._cache = json.loads(self._cache_path.read_text()) if self._cache_path.exists() else {}
        self._planned = 0
        self._engine = None

    def _metricflow(self):
        from dbt_metricflow.cli.dbt_connectors.dbt_config_accessor import dbtArtifacts
        from metricflow.engine.metricflow_engine import MetricFlowEngine
        from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

        if self._engine is None:
            manifest = dbtArtifacts.build_semantic_manifest_from_dbt_project_root(self._project_dir)
            self._engine = MetricFlowEngine(SemanticManifestLookup(manifest), _ExplainOnlyClient())
        return self._engine

    def sql(self, metrics: list[str], group_by: list[str]) -> str:
        from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

        key = f"{','.join(metrics)}|{','.join(group_by)}"
        if key not in self._cache:
            request = MetricFlowQueryRequest.create(metric_names=metrics, group_by_names=group_by)
            self._cache[key] = self._metricflow().explain(request).sql_statement.sql
            self._planned += 1
        return self._cache[key]

    def save(self) -> None:
        """Keep newly planned SQL for the next night (written whole, then renamed)."""
        if not self._planned:
            return
        staged = self._cache_path.with_name(f"{self._cache_path.name}.{os.getpid()}")
        staged.write_text(json.dumps(self._cache))
        os.replace(staged, self._cache_path)


def metric_groups(manifest: dict, catalog: pl.DataFrame) -> list[MetricGroup]:
    """Which metrics go into the tables, at which grains, split by which dimensions."""
    model_of_measure, time_grain = {}, {}
    for model in manifest["semantic_models"]:
        granularity = {
            d["name"]: d["type_params"]["time_granularity"]
            for d in model["dimensions"]
            if d["type"] == "time"
        }
        default_time = (model.get("defaults") or {}).get("agg_time_dimension")
        for measure in model["measures"]:
            model_of_measure[measure["name"]] = model["name"]
            agg_time = measure.get("agg_time_dimension") or default_time
            time_grain[measure["name"]] = granularity[agg_time]
    allowed = {row["name"]: row["dimensions"].split(", ") for row in catalog.to_dicts()}
    definitions = {m["name"]: m for m in manifest["metrics"]}
    grouped: dict[tuple, list[str]] = defaultdict(list)
    for metric in manifest["metrics"]:
        name = metric["name"]
        measures = [m["name"] for m in metric["type_params"]["input_measures"]]
        models = tuple(sorted({model_of_measure[m] for m in measures}))
        meta = (metric.get("config") or {}).get("meta") or {}
        if any(m.startswith(SURVEY_MODEL_PREFIX) for m in models) or meta.get("building_block"):
            continue
        grains = tuple(g for g in GRAINS if name.endswith(f"_{g}")) or GRAINS
        # A metric kept per year (formation, projections) has no month or quarter figure.
        coarsest = max(GRAINS.index(time_grain[m]) if time_grain[m] in GRAINS else 0
                       for m in measures)  # fmt: skip
        grains = tuple(g for g in grains if GRAINS.index(g) >= coarsest)
        dimensions = tuple(d for d in TABLE_DIMENSIONS if d in allowed[name])
        if "gender" in dimensions:
            dimensions = tuple(d for d in dimensions if d != FINANCE_ONLY)
        dimensions += tuple(d for d in EVENT_DIMENSIONS if _owned_by(d, models, manifest))
        if _is_rolling(name, definitions):
            grains, dimensions = (GRAINS[0],), ROLLING_DIMENSIONS
        forced = next((ALWAYS_SPLIT_BY[m] for m in models if m in ALWAYS_SPLIT_BY), None)
        grouped[(models, grains, dimensions, forced)].append(name)
    return [
        MetricGroup(models, tuple(sorted(names)), grains, dimensions, forced)
        for (models, grains, dimensions, forced), names in sorted(grouped.items())
    ]


def _is_rolling(name: str, definitions: dict) -> bool:
    metric = definitions[name]
    if metric["type"] == "cumulative":
        return True
    inputs = metric["type_params"].get("metrics") or []
    return any(_is_rolling(m["name"], definitions) for m in inputs)


def _owned_by(dimension: str, models: tuple[str, ...], manifest: dict) -> bool:
    """An event dimension splits a metric only if every model it reads has that dimension."""
    entity = DIMENSIONS[dimension].split("__")[0]
    primary = {m["name"]: m["primary_entity"] for m in manifest["semantic_models"]}
    return all(primary[m] == entity for m in models)


def _questions(group: MetricGroup, grain: str):
    """(dimension name in the table, MetricFlow group-by) for every split of the group."""
    time = f"metric_time__{grain}"
    base = [DIMENSIONS[group.forced]] if group.forced else []
    yield (group.forced or TOTAL), [time, *base]
    for dimension in group.dimensions:
        if (
            grain == GRAINS[0]
            and dimension in TABLE_DIMENSIONS
            and dimension not in MONTH_DIMENSIONS
        ):
            continue
        yield dimension, [time, *base, DIMENSIONS[dimension]]


# The period-length building blocks: MetricFlow gets them from the dense segment calendar (every
# workforce segment x month: 90 million rows at 100,000 employees), so that a daily average can be
# grouped by any segment attribute. Their value depends only on the period, not on the group:
# the KPI tables compute it from the calendar's range and evaluate the governed expressions of
# the metrics built on it (same definitions, same DuckDB arithmetic) on MetricFlow's answer for
# their other inputs. One such question took 90 s at 100,000 employees; its inputs take 2 s.
CALENDAR_MODEL = "marts.fct_segment_calendar_monthly"
PERIOD_METRICS = ("days_in_period", "months_in_period")


@dataclass(frozen=True)
class PeriodCalendar:
    """The months the segment calendar holds, and each period's days and months within them."""

    months: tuple[dt.date, ...]

    @classmethod
    def of(cls, con: duckdb.DuckDBPyConnection) -> "PeriodCalendar":
        first, last = con.sql(
            f"select min(month_start_date), max(month_start_date) from {CALENDAR_MODEL}"
        ).fetchall()[0]
        months, month = [], first
        while first is not None and month <= last:
            months.append(month)
            month = _add_months(month, 1)
        return cls(tuple(months))

    @staticmethod
    def period_start(month: dt.date, grain: str) -> dt.date:
        first = {"month": month.month, "quarter": (month.month - 1) // 3 * 3 + 1, "year": 1}
        return month.replace(month=first[grain])

    def columns(self, period_starts: pl.Series, grain: str) -> dict[str, list]:
        span = {"month": 1, "quarter": 3, "year": 12}[grain]
        days, counts = [], []
        for start in period_starts.to_list():
            start = start.date() if isinstance(start, dt.datetime) else start
            end = _add_months(start, span) if start else None
            inside = [m for m in self.months if start <= m < end] if start else []
            days.append(float(sum(_days_in_month(m) for m in inside)) if inside else None)
            counts.append(len(inside) if inside else None)
        return {"days_in_period": days, "months_in_period": counts}


def _days_in_month(month: dt.date) -> int:
    return (_add_months(month, 1) - month).days


def _definitions(manifest: dict) -> dict[str, dict]:
    return {m["name"]: m for m in manifest["metrics"]}


def _uses_period_metrics(name: str, definitions: dict) -> bool:
    inputs = definitions[name]["type_params"].get("metrics") or []
    return any(i["name"] in PERIOD_METRICS or _uses_period_metrics(i["name"], definitions)
               for i in inputs)  # fmt: skip


def _plain_inputs(name: str, definitions: dict) -> list[str]:
    """The metrics MetricFlow answers for a metric built on a period metric: its inputs down to
    the first that does not use one, in order of first use."""
    if name in PERIOD_METRICS or not _uses_period_metrics(name, definitions):
        return [] if name in PERIOD_METRICS else [name]
    inputs = []
    for item in definitions[name]["type_params"]["metrics"]:
        inputs += [m for m in _plain_inputs(item["name"], definitions) if m not in inputs]
    return inputs


def _built_on_period(name: str, definitions: dict, order: list[str]) -> None:
    """Derived metrics (dependencies first) that must be evaluated for `name`."""
    if name in order or not _uses_period_metrics(name, definitions):
        return
    for item in definitions[name]["type_params"]["metrics"]:
        _built_on_period(item["name"], definitions, order)
    order.append(name)


def _with_calendar_rows(con, answer, group_by, calendar, grain, segment_columns):
    """MetricFlow's answer has a row for every period and member the dense calendar holds (its
    full outer join), with empty values where the facts have none: the same rows here, so the
    tables answer exactly what `peoplemart kpi` through MetricFlow would."""
    time_column = group_by[0]
    periods = sorted({calendar.period_start(m, grain) for m in calendar.months})
    spine = pl.DataFrame({time_column: periods}, schema={time_column: pl.Date})
    if len(group_by) > 1:
        dimension = group_by[1].split("__", 1)[1]
        members = con.sql(
            f"select distinct cast({segment_columns[dimension]} as varchar) as member "
            "from marts.dim_segments where segment_kind = 'workforce'"
        ).pl()
        spine = spine.join(members.rename({"member": group_by[1]}), how="cross")
    answer = answer.with_columns(pl.col(time_column).cast(pl.Date))
    spine = spine.with_columns(pl.col(c).cast(answer.schema[c]) for c in group_by)
    return spine.join(answer, on=group_by, how="full", coalesce=True, nulls_equal=True)


def _answer(con, generator, group: MetricGroup, group_by, definitions, calendar, grain,
            segment_columns):  # fmt: skip
    """MetricFlow's answer to one question; metrics built on period metrics evaluated here."""
    metrics = list(group.metrics)
    if not any(_uses_period_metrics(m, definitions) for m in metrics):
        return con.sql(generator.sql(metrics, group_by)).pl()
    plain = []
    for metric in metrics:
        plain += [m for m in _plain_inputs(metric, definitions) if m not in plain]
    answer = _with_calendar_rows(con, con.sql(generator.sql(plain, group_by)).pl(), group_by,
                                 calendar, grain, segment_columns)  # fmt: skip
    answer = answer.with_columns(
        pl.Series(name, values, dtype=pl.Float64 if name == "days_in_period" else pl.Int64)
        for name, values in calendar.columns(answer[group_by[0]], grain).items()
    )
    order: list[str] = []
    for metric in metrics:
        _built_on_period(metric, definitions, order)
    evaluator = duckdb.connect()
    try:
        for name in order:
            evaluator.register("answer", answer)
            expression = definitions[name]["type_params"]["expr"]
            answer = evaluator.sql(f"select *, ({expression}) as {name} from answer").pl()
            evaluator.unregister("answer")
    finally:
        evaluator.close()
    return answer


def build_kpi_tables(
    con: duckdb.DuckDBPyConnection, project_dir: Path, manifest: dict, catalog: pl.DataFrame
) -> dict:
    """Create kpi.metrics_<grain> in the connected warehouse; return counts and timings."""
    generator = MetricSql(project_dir)
    con.execute(f"create schema if not exists {KPI_SCHEMA}")
    frames: dict[str, list[pl.DataFrame]] = {grain: [] for grain in GRAINS}
    started = time.monotonic()
    queries = 0
    definitions = _definitions(manifest)
    calendar = PeriodCalendar.of(con)
    segments = next(m for m in manifest["semantic_models"] if m["name"] == "segments")
    segment_columns = {d["name"]: d.get("expr") or d["name"] for d in segments["dimensions"]}
    for group in metric_groups(manifest, catalog):
        for grain in group.grains:
            for dimension, group_by in _questions(group, grain):
                answer = _answer(
                    con, generator, group, group_by, definitions, calendar, grain, segment_columns
                )
                queries += 1
                frames[grain].append(_long(answer, group, dimension, group_by))
    counts = {}
    for grain in GRAINS:
        frame = pl.concat(frames[grain]) if frames[grain] else _empty()
        con.register("kpi_frame", frame)
        con.execute(
            f"create or replace table {table_name(grain)} as select * from kpi_frame "
            "order by metric, dimension, member, period_start"
        )
        con.unregister("kpi_frame")
        counts[table_name(grain)] = frame.height
    generator.save()
    return {"queries": queries, "seconds": round(time.monotonic() - started, 1), "rows": counts}


# Periods freeze a little ahead of the retention horizon, so that the people who cross it before
# the next run are already counted in frozen figures when retention removes them.
FREEZE_MARGIN_MONTHS = 3
ROLLING_WINDOW_MONTHS = 12


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def freeze_closed_periods(con: duckdb.DuckDBPyConnection, hr_horizon: dt.date) -> dict:
    """Keep closed periods as they were first published: figures of periods starting before the
    HR retention horizon (plus a margin) are archived in kpi_frozen once and from then on replace
    what this run computed. The people in them may since have been removed (AVG retention,
    ingestion/retention.py); the aggregates that no longer identify anyone stay."""
    frozen_before = _add_months(hr_horizon.replace(day=1), FREEZE_MARGIN_MONTHS)
    rolling_frozen_before = _add_months(frozen_before, ROLLING_WINDOW_MONTHS)
    con.execute(f"create schema if not exists {FROZEN_SCHEMA}")
    con.execute(
        f"create table if not exists {FROZEN_BOUNDARY} (frozen_before date, frozen_at timestamp)"
    )
    # A rolling figure reaches back a year: it is closed a year later than its month.
    closed = "period_start < case when metric like '%rolling_12m%' then $rolling else $frozen end"
    counts = {}
    for grain in GRAINS:
        live, frozen = table_name(grain), f"{FROZEN_SCHEMA}.metrics_{grain}"
        con.execute(f"create table if not exists {frozen} as select * from {live} limit 0")
        bounds = {"frozen": frozen_before, "rolling": rolling_frozen_before}
        same_period = (
            f"exists (select 1 from {frozen} as f where f.metric = {{t}}.metric "
            f"and f.period_start = {{t}}.period_start)"
        )
        con.execute(
            f"insert into {frozen} select * from {live} as l where {closed} "
            f"and not {same_period.format(t='l')}",
            bounds,
        )
        con.execute(f"delete from {live} where {same_period.format(t=live)}")
        con.execute(f"insert into {live} select * from {frozen}")
        counts[frozen] = con.sql(f"select count(*) from {frozen}").fetchall()[0][0]
    con.execute(f"insert into {FROZEN_BOUNDARY} values (?, current_timestamp)", [frozen_before])
    return {"frozen_before": str(frozen_before), "rows": counts}


def _empty() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "metric": pl.String,
            "period_start": pl.Date,
            "dimension": pl.String,
            "member": pl.String,
            "value": pl.Float64,
        }
    )


def _long(answer: pl.DataFrame, group: MetricGroup, dimension: str, group_by: list[str]):
    time_column = group_by[0]
    split = group_by[-1] if len(group_by) > 1 else None
    # Rows and empty values are kept as MetricFlow gives them (employees directly in a unit above
    # an org level have no member at it: a null member), so the published rows answer exactly
    # what `peoplemart kpi` would.
    member = pl.col(split).cast(pl.String) if split else pl.lit(None, pl.String)
    if group.forced and dimension != group.forced:
        # A second split under the forced one: the member names both (scenario / job family).
        member = pl.concat_str([pl.col(DIMENSIONS[group.forced]), member], separator=" / ")
    return (
        answer.select(
            pl.col(time_column).cast(pl.Date).alias("period_start"),
            pl.lit(
                dimension
                if not group.forced or dimension == group.forced
                else f"{group.forced}/{dimension}"
            ).alias("dimension"),  # fmt: skip
            member.alias("member"),
            *[pl.col(m).cast(pl.Float64) for m in group.metrics],
        )
        .unpivot(
            index=["period_start", "dimension", "member"],
            variable_name="metric",
            value_name="value",
        )
        # A record without a date on the metric's time axis (a spell not yet ended, for the
        # ended-spell measures) belongs to no period: not a figure of any period.
        .filter(pl.col("period_start").is_not_null())
        .select("metric", "period_start", "dimension", "member", "value")
    )


def read_published(serving: Path, grain: str, metrics: list[str], dimension: str | None,
                   start: dt.date | None, end: dt.date | None) -> pl.DataFrame | None:  # fmt: skip
    """The answer from the published KPI table, or None when it does not hold the question."""
    if not serving.exists() or dimension == PROJECTION_YEAR:
        return None
    dimension = dimension or TOTAL
    with duckdb.connect(str(serving), read_only=True) as con:
        if not con.execute(
            "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
            [KPI_SCHEMA, f"metrics_{grain}"],
        ).fetchall()[0][0]:
            return None
        present = con.execute(
            f"select distinct metric from {table_name(grain)} where dimension = ? "
            f"and metric in (select unnest(?::varchar[]))",
            [dimension, metrics],
        ).fetchall()
        if len(present) != len(metrics):
            return None
        rows = con.execute(
            f"select metric, period_start, member, value from {table_name(grain)} "
            "where dimension = ? and metric in (select unnest(?::varchar[])) "
            "and (?::date is null or period_start >= ?::date) "
            "and (?::date is null or period_start <= ?::date)",
            [dimension, metrics, start, start, end, end],
        ).fetchall()
    rows = pl.DataFrame(
        rows,
        schema={"metric": pl.String, "period_start": pl.Date, "member": pl.String,
                "value": pl.Float64},
        orient="row",
    )  # fmt: skip
    wide = rows.pivot(on="metric", index=["period_start", "member"], values="value")
    wide = wide.with_columns(pl.col("period_start").cast(pl.String)).rename({"period_start": grain})
    wide = wide.select(grain, "member", *[m for m in metrics if m in wide.columns])
    for metric in metrics:
        if metric not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Float64).alias(metric))
    if dimension == TOTAL:
        wide = wide.drop("member")
        return wide.sort(grain)
    return wide.rename({"member": dimension}).sort(grain, dimension, nulls_last=True)
