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
import itertools
import json
import os
import re
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from ingestion.retention import FROZEN_BOUNDARY, FROZEN_SCHEMA, frozen_before
from metrics.query import DIMENSIONS, GRAINS, PROJECTION_YEAR
from metrics.semantics import ADDITIVE_AGGREGATIONS, MONTH, Semantics, add_months

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


def _building(grain: str) -> str:
    return f"{table_name(grain)}__building"


def _append(con: duckdb.DuckDBPyConnection, grain: str, wide: pl.DataFrame, metrics) -> None:
    """Add one answer's rows (_wide's frame), one metric after another in name order: the rows
    come out sorted by metric, member and period, so the table's row groups stay narrow in metric
    and dimension, what readers filter on, without sorting the table. Never unpivoted as a frame:
    the long rows of a whole answer (25 million at 100,000 employees) took a gigabyte."""
    con.register("kpi_frame", wide)
    try:
        stacked = " union all ".join(
            f"select '{metric}', period_start, dimension, member, \"{metric}\" from kpi_frame"
            for metric in metrics
        )
        con.execute(f"insert into {_building(grain)} {stacked}")
    finally:
        con.unregister("kpi_frame")


# An insert from a frame costs some 10 ms whatever its size: a small organisation's KPI tables
# are 460 answers of a few hundred rows each, and inserted one by one they took 4 of its 12 s.
# Answers smaller than this wait, unpivoted, and go in together; larger ones go in at once.
BATCH_ROWS = 500_000


class _KpiRows:
    """The building tables' inserts: small answers batched (BATCH_ROWS), in the order added."""

    def __init__(self, con: duckdb.DuckDBPyConnection, since: dt.date | None = None):
        self._con = con
        self._since = since
        self._waiting: dict[str, list[pl.DataFrame]] = defaultdict(list)
        self._waiting_rows = 0
        self.counts = {table_name(grain): 0 for grain in GRAINS}

    def add(self, grain: str, wide: pl.DataFrame, metrics) -> None:
        if self._since is not None:
            # Earlier periods were computed from facts cut at their start: incomplete, and
            # replaced by the frozen archive anyway.
            wide = wide.filter(pl.col("period_start") >= self._since)
        rows = wide.height * len(metrics)
        self.counts[table_name(grain)] += rows
        if rows >= BATCH_ROWS:
            self.flush()
            _append(self._con, grain, wide, metrics)
            return
        long = wide.unpivot(
            on=list(metrics),
            index=["period_start", "dimension", "member"],
            variable_name="metric",
            value_name="value",
        )
        self._waiting[grain].append(long.select(_empty().columns))
        self._waiting_rows += rows
        if self._waiting_rows >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        for grain, frames in self._waiting.items():
            self._con.register("kpi_frame", pl.concat(frames))
            try:
                self._con.execute(f"insert into {_building(grain)} select * from kpi_frame")
            finally:
                self._con.unregister("kpi_frame")
        self._waiting.clear()
        self._waiting_rows = 0


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


# MetricFlow reads each semantic model in a CTE, which its query then uses two or three times, so
# DuckDB materialises it: at 100,000 employees the 13 million workforce rows (5.7 GB, spilled to
# disk) before anything is aggregated. Read in place, the CTE costs one more scan of the table.
_SEMANTIC_MODEL_CTE = re.compile(r"(\bWITH\s+|,\s*)(\w+_cte) AS \(")
# DuckDB pre-aggregates a fact per join key before joining the segments; a segment is nearly one
# per person (760,000 for 13 million workforce rows), so that first aggregation keeps almost
# every row and costs more than it saves. Together: the workforce cells in 6 s instead of 19.
PLAN_SETTINGS = {"disabled_optimizers": "partial_aggregate_pushdown"}


def _inlined(sql: str) -> str:
    return _SEMANTIC_MODEL_CTE.sub(r"\1\2 AS NOT MATERIALIZED (", sql)


@dataclass(frozen=True)
class _FactsRead:
    """The rows of each semantic model the queries of periods from one day on read: per
    (relation, model) the condition they meet (_facts_from). A rolling window reaches months
    before its period: the queries of `windowed` metrics read from `window_from` on."""

    own: dict[tuple[str, str], str]
    window_from: dict[tuple[str, str], str]
    windowed: frozenset[str]

    def conditions(self, metrics: list[str]) -> dict[tuple[str, str], str]:
        return self.window_from if self.windowed.intersection(metrics) else self.own


# MetricFlow reads a semantic model as `FROM <relation> <model>_src_<n>` (a cumulative metric's
# own SQL joins it to the time spine: `JOIN <relation> <model>_src_<n>`).
_SEMANTIC_MODEL_READ = re.compile(r'(FROM|JOIN)\s+("[^"]+"\."[^"]+"\."[^"]+")\s+(\w+)_src_(\d+)')


def _reading_only(sql: str, conditions: dict[tuple[str, str], str]) -> str:
    """The query with each semantic model's rows restricted to those meeting its condition."""
    if not conditions:
        return sql

    def restricted(read: re.Match) -> str:
        keyword, relation, model, number = read.groups()
        condition = conditions.get((relation, model))
        if condition is None:
            return read.group(0)
        return f"{keyword} (select * from {relation} where {condition}) {model}_src_{number}"

    return _SEMANTIC_MODEL_READ.sub(restricted, sql)


@contextmanager
def planned_for_metricflow(con: duckdb.DuckDBPyConnection):
    """The connection set up for MetricFlow's queries (PLAN_SETTINGS), then as it was."""
    before = {
        name: con.sql(f"select current_setting('{name}')").fetchall()[0][0]
        for name in PLAN_SETTINGS
    }
    for name, value in PLAN_SETTINGS.items():
        con.execute(f"set {name} = '{value}'")
    try:
        yield con
    finally:
        for name, value in before.items():
            con.execute(f"set {name} = '{value}'")


class MetricSql:
    """MetricFlow's SQL for a question, from the project's semantic manifest.

    The SQL depends only on the metric definitions, not on the data: it is kept beside the
    semantic manifest (keyed by its hash) so a night asks MetricFlow to plan only what changed.
    """

    def __init__(self, project_dir: Path, extra_metrics: tuple[dict, ...] = (),
                 extra_measures: tuple[tuple[str, dict], ...] = ()):  # fmt: skip
        self._project_dir = project_dir
        # Metrics (and measures, by semantic model) the KPI tables derive from the definitions,
        # never published themselves.
        self._extra_metrics, self._extra_measures = extra_metrics, extra_measures
        manifest = project_dir / "target" / "semantic_manifest.json"
        extra = [extra_metrics, extra_measures]
        digest = hashlib.sha256(
            manifest.read_bytes() + json.dumps(extra, sort_keys=True).encode()
        ).hexdigest()[:16]
        self._cache_path = manifest.with_name(f"kpi_sql_{digest}.json")
        self._cache = json.loads(self._cache_path.read_text()) if self._cache_path.exists() else {}
        self._planned = 0
        self._engine = None
        # Which rows of each semantic model a query reads (_FactsRead); None: all.
        self.facts: _FactsRead | None = None

    def _metricflow(self):
        from dbt_metricflow.cli.dbt_connectors.dbt_config_accessor import dbtArtifacts
        from metricflow.engine.metricflow_engine import MetricFlowEngine
        from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

        if self._engine is None:
            if self._extra_metrics or self._extra_measures:
                from metricflow_semantics.model.dbt_manifest_parser import (
                    parse_manifest_from_dbt_generated_manifest,
                )

                raw = json.loads(
                    (self._project_dir / "target" / "semantic_manifest.json").read_text()
                )
                raw["metrics"] += list(self._extra_metrics)
                models = {model["name"]: model for model in raw["semantic_models"]}
                for model, measure in self._extra_measures:
                    models[model]["measures"].append(measure)
                manifest = parse_manifest_from_dbt_generated_manifest(
                    manifest_json_string=json.dumps(raw)
                )
            else:
                manifest = dbtArtifacts.build_semantic_manifest_from_dbt_project_root(
                    self._project_dir
                )
            self._engine = MetricFlowEngine(SemanticManifestLookup(manifest), _ExplainOnlyClient())
        return self._engine

    def sql(self, metrics: list[str], group_by: list[str]) -> str:
        key = f"{','.join(metrics)}|{','.join(group_by)}"
        if key not in self._cache:
            # Imported only to plan: MetricFlow's engine takes a second to import.
            from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

            request = MetricFlowQueryRequest.create(metric_names=metrics, group_by_names=group_by)
            self._cache[key] = self._metricflow().explain(request).sql_statement.sql
            self._planned += 1
        conditions = self.facts.conditions(metrics) if self.facts else {}
        return _reading_only(_inlined(self._cache[key]), conditions)

    def save(self) -> None:
        """Keep newly planned SQL for the next night (written whole, then renamed)."""
        if not self._planned:
            return
        staged = self._cache_path.with_name(f"{self._cache_path.name}.{os.getpid()}")
        staged.write_text(json.dumps(self._cache))
        os.replace(staged, self._cache_path)


def agg_time_axis(measure: dict, model: dict) -> str:
    """The time dimension a measure's periods are counted on: its own, or its model's default."""
    return measure.get("agg_time_dimension") or (model.get("defaults") or {})["agg_time_dimension"]


def metric_groups(manifest: dict, catalog: pl.DataFrame) -> list[MetricGroup]:
    """Which metrics go into the tables, at which grains, split by which dimensions."""
    model_of_measure, time_grain = {}, {}
    for model in manifest["semantic_models"]:
        granularity = {
            d["name"]: d["type_params"]["time_granularity"]
            for d in model["dimensions"]
            if d["type"] == "time"
        }
        for measure in model["measures"]:
            model_of_measure[measure["name"]] = model["name"]
            time_grain[measure["name"]] = granularity[agg_time_axis(measure, model)]
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


def _rolling_metrics(definitions: dict) -> set[str]:
    """The metrics whose figure counts months before its own period: the KPI tables read their
    facts further back, and the freeze closes them later."""
    return {name for name in definitions if _is_rolling(name, definitions)}


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


def _answer(semantics: Semantics, generator, group: MetricGroup, group_by, grain):
    """MetricFlow's answer to one question; metrics built on the calendar evaluated here."""
    metrics = list(group.metrics)
    if not any(semantics.uses_calendar(m) or m in semantics.windowed for m in metrics):
        return semantics.con.sql(generator.sql(metrics, group_by)).pl()
    inputs = semantics.inputs(metrics, expand=semantics.uses_calendar)
    windowed = [m for m in inputs if m in semantics.windowed and group_by == [MONTH]]
    inputs = [m for m in inputs if m not in windowed]
    empty = {column: pl.Date if column == group_by[0] else pl.String for column in group_by}
    answer = (
        semantics.con.sql(generator.sql(inputs, group_by)).pl()
        if inputs
        else pl.DataFrame(schema=empty)
    )
    if windowed:
        rolling = semantics.windowed_sums(generator, windowed)
        answer = answer.with_columns(pl.col(MONTH).cast(pl.Date)).join(
            rolling.with_columns(pl.col(MONTH).cast(pl.Date)), on=MONTH, how="full", coalesce=True
        )
    order = semantics.evaluated(metrics, expand=semantics.uses_calendar)
    return _evaluate(semantics, answer, group_by, order, grain, metrics)


def _evaluate(semantics: Semantics, answer, group_by, order, grain, metrics):
    """The derived metrics in `order` (dependencies first) evaluated from the governed
    expressions, with DuckDB's arithmetic as MetricFlow's SQL would; the calendar metrics, and
    the calendar's rows, added first where they are used."""
    asked = [m for m in metrics if m in semantics.computed and m not in order]
    leaves = list(dict.fromkeys(semantics.calendar_leaves(order) + asked))
    if leaves:
        answer = semantics.with_calendar(answer, group_by, grain, leaves)
    if not order:
        return answer
    con = semantics.con
    con.register("kpi_answer", answer)
    try:
        sql = _with_expressions("select * from kpi_answer", order, semantics.definitions)
        return con.sql(sql).pl()
    finally:
        con.unregister("kpi_answer")


def _with_expressions(sql: str, order: list[str], definitions: dict) -> str:
    for name in order:
        sql = f"select *, ({definitions[name]['type_params']['expr']}) as {name} from ({sql})"
    return sql


def _rolls_up(group: MetricGroup, semantics: Semantics) -> bool:
    """Whether every split of the group is the sum of its finest cells: simple metrics over
    additive measures (a month-end headcount included: MetricFlow picks the period's last month
    for the whole query, not per member), combined only by plain expressions; calendar metrics
    are computed per split anyway."""

    def plain(name: str) -> bool:
        metric = semantics.definitions[name]
        if name in semantics.computed:
            return True
        if metric["type"] == "simple":
            measure = metric["type_params"]["measure"]["name"]
            return semantics.aggregation[measure] in ADDITIVE_AGGREGATIONS
        if metric["type"] != "derived":
            return False
        inputs = metric["type_params"]["metrics"]
        return all(
            not (i.get("filter") or i.get("alias") or i.get("offset_window")
                 or i.get("offset_to_grain")) and plain(i["name"])
            for i in inputs
        )  # fmt: skip

    return all(plain(name) for name in group.metrics)


def _cell_set(dimension: str) -> str:
    """Which finest-cell query answers a split. The org levels nest (a level-4 unit fixes levels
    1 to 3), so together they add no cells; crossed with the other attributes they would multiply
    the cells to nearly one per fact (7,000 units at level 4 at 100,000 employees)."""
    return "org" if dimension == TOTAL or dimension.startswith("org_level_") else "attributes"


_CELL_TABLES = itertools.count()


class _Cells:
    """The finest cells of a rolled-up group: per cell set, one MetricFlow query of the group's
    leaves by `time` and every split column asked of that set, kept as a temp table until
    dropped. `time` is the grain's own period, or the month for a group whose leaves all follow
    from their months (`rollup`, see _month_rollup): then one query serves the month, quarter and
    year questions (one scan of the facts instead of three)."""

    def __init__(self, semantics: Semantics, generator, leaves: list[str], time: str,
                 questions, rollup: dict | None = None) -> None:  # fmt: skip
        self._semantics, self._generator, self._leaves, self.time = (
            semantics, generator, leaves, time)  # fmt: skip
        self.rollup = rollup or {}
        self._columns: dict[str, list[str]] = defaultdict(lambda: [time])
        for dimension, group_by in questions:
            columns = self._columns[_cell_set(dimension)]
            columns += [c for c in group_by[1:] if c not in columns]
        self.created: set[str] = set()
        self._prefix = f"kpi_cells_{next(_CELL_TABLES)}"
        # Set by _ModelCells when its month cells answer this group; else MetricFlow is asked.
        self.models: _ModelCells | None = None
        self.asked = 0

    @property
    def leaves(self) -> list[str]:
        return self._leaves

    @property
    def columns(self) -> dict[str, list[str]]:
        """Per cell set: the time column, then the split columns."""
        return dict(self._columns)

    def table(self, dimension: str) -> str:
        cell_set = _cell_set(dimension)
        table = f"{self._prefix}_{cell_set}"
        if cell_set not in self.created:
            if self.models is not None:
                sql = self.models.sql(self, cell_set)
            else:
                sql = self._generator.sql(self._leaves, self._columns[cell_set])
                self.asked += 1
            self._semantics.con.execute(f"create or replace temp table {table} as {sql}")
            self.created.add(cell_set)
            if self.models is not None:
                self.models.used(self, cell_set)
        return table

    def drop(self) -> None:
        for cell_set in self.created:
            self._semantics.con.execute(f"drop table if exists {self._prefix}_{cell_set}")


MONTH_TIME = f"metric_time__{GRAINS[0]}"


class _ModelCells:
    """Month cells per semantic model, shared by the cells of every group they can answer.

    The workforce facts are the largest: read once per group that uses them (its own group, and
    beside the finance, absence and sick-spell facts at every grain) they were most of the KPI
    tables' time. Here each model is asked once per cell set, for every leaf any group needs of
    it by every split column any group asks, by month. A group's cells are then summed from
    them and, for two models, joined as MetricFlow's SQL joins the two models' sums: a full
    outer join on the split columns and the period, grouped by their coalesced values, each
    leaf the max of its side (null-filled where the metric says so). The sums are the same,
    and so are the rows: a model's sum has a row wherever it has rows, at any split.

    A leaf qualifies when its month cells hold its value of any period: a simple metric of an
    additive measure, unfiltered, with no time-spine join, on a time axis of days or months,
    summed over time; a month-end figure only for month cells (its quarter is its last month's,
    which _summed_from_cells takes from the group's month cells). Other groups ask MetricFlow."""

    def __init__(self, semantics: Semantics, generator, manifest: dict, cells) -> None:
        self._semantics, self._generator = semantics, generator
        measures = _measures(manifest)
        self._model, self._kind, self._fill = {}, {}, {}
        for leaf in dict.fromkeys(leaf for cell in cells for leaf in cell.leaves):
            metric = semantics.definitions[leaf]
            if metric["type"] != "simple":
                continue
            params = metric["type_params"]["measure"]
            measure, model = measures[params["name"]]
            if params.get("filter") or metric.get("filter") or params.get("join_to_timespine"):
                continue
            self._model[leaf] = model["name"]
            self._kind[leaf] = _time_kind(semantics, measure, model)
            self._fill[leaf] = params.get("fill_nulls_with")
        asked = defaultdict(list)  # (model, cell set) -> [(split columns, leaves)]
        for cell in cells:
            if not self.serves(cell):
                continue
            cell.models = self
            for cell_set, columns in cell.columns.items():
                for model, leaves in self._by_model(cell.leaves).items():
                    asked[(model, cell_set)].append((columns[1:], leaves))
        # One table per widest split: a split contained in another is summed from it, but two
        # different splits are not crossed (cost centers by every HR attribute made ten
        # million workforce cells at 100,000 employees, against two for either alone).
        self._tables: dict[tuple, list[tuple[list[str], list[str]]]] = {}
        for key, questions in asked.items():
            widest = [(split, []) for split, _ in questions
                      if not any(set(split) < set(other) for other, _ in questions)]  # fmt: skip
            widest = [w for i, w in enumerate(widest) if set(w[0]) not in
                      [set(o[0]) for o in widest[:i]]]  # fmt: skip
            for split, leaves in questions:
                _, known = self._widest(widest, split)
                known += [leaf for leaf in leaves if leaf not in known]
            self._tables[key] = widest
        # A table is dropped once the last group summed from it has its cells: the workforce
        # cells are a million rows per split at 100,000 employees.
        self._uses: dict[tuple, int] = defaultdict(int)
        for (model, cell_set), questions in asked.items():
            for split, _ in questions:
                self._uses[self._key(model, cell_set, split)] += 1
        self.created: dict[tuple, str] = {}

    @staticmethod
    def _widest(tables: list, split: list[str]) -> tuple[list[str], list[str]]:
        return next(table for table in tables if set(split) <= set(table[0]))

    def serves(self, cell: _Cells) -> bool:
        kinds = {SUMMED, LAST_MONTH} if cell.time == MONTH_TIME else {SUMMED}
        return (
            all(self._kind.get(leaf) in kinds for leaf in cell.leaves)
            and len(self._by_model(cell.leaves)) <= 2
        )

    def _by_model(self, leaves: list[str]) -> dict[str, list[str]]:
        models = defaultdict(list)
        for leaf in leaves:
            models[self._model.get(leaf)].append(leaf)
        return dict(models)

    def _key(self, model: str, cell_set: str, split: list[str]) -> tuple:
        columns, _ = self._widest(self._tables[(model, cell_set)], split)
        return (model, cell_set, *columns)

    def _table(self, model: str, cell_set: str, split: list[str]) -> str:
        key = self._key(model, cell_set, split)
        if key not in self.created:
            columns, leaves = self._widest(self._tables[(model, cell_set)], split)
            table = f"kpi_model_cells_{next(_CELL_TABLES)}"
            asked = [_in_month_cells(leaf) if self._kind[leaf] == LAST_MONTH else leaf
                     for leaf in leaves]  # fmt: skip
            sql = self._generator.sql(asked, [MONTH_TIME, *columns])
            renamed = [f"{a} as {leaf}" for a, leaf in zip(asked, leaves, strict=True) if a != leaf]
            if renamed:
                sql = f"select * rename ({', '.join(renamed)}) from ({sql})"
            self._semantics.con.execute(f"create temp table {table} as {sql}")
            self.created[key] = table
        return self.created[key]

    def _filled(self, value: str, leaf: str) -> str:
        fill = self._fill[leaf]
        return value if fill is None else f"coalesce({value}, {fill!r})"

    def sql(self, cell: _Cells, cell_set: str) -> str:
        """The group's cells: `cell.time` by its split columns of `cell_set`, every leaf."""
        time, *split = cell.columns[cell_set]
        grain = time.removeprefix("metric_time__")
        period = MONTH_TIME if time == MONTH_TIME else f"date_trunc('{grain}', {MONTH_TIME})"
        sums = []
        for model, leaves in self._by_model(cell.leaves).items():
            columns = ", ".join([f"{period} as {time}", *split])
            summed = ", ".join(f"sum({leaf}) as {leaf}" for leaf in leaves)
            table = self._table(model, cell_set, split)
            sums.append((f"select {columns}, {summed} from {table} group by all", leaves))
        if len(sums) == 1:
            (sql, leaves), keys = sums[0], [time, *split]
            filled = ", ".join(f"{self._filled(leaf, leaf)} as {leaf}" for leaf in leaves)
            return f"select {', '.join(keys)}, {filled} from ({sql})"
        (left, left_leaves), (right, right_leaves) = sums
        keys = {column: f"coalesce(l.{column}, r.{column})" for column in [time, *split]}
        values = [f"{self._filled(f'max({side}.{leaf})', leaf)} as {leaf}"
                  for side, leaves in (("l", left_leaves), ("r", right_leaves))
                  for leaf in leaves]  # fmt: skip
        on = " and ".join(f"l.{c} = r.{c}" for c in [*split, time])
        return (
            f"select {', '.join(f'{key} as {c}' for c, key in keys.items())}, "
            f"{', '.join(values)} from ({left}) as l full outer join ({right}) as r on {on} "
            f"group by {', '.join(keys.values())}"
        )

    def used(self, cell: _Cells, cell_set: str) -> None:
        """`cell`'s cells of `cell_set` are built: drop what no other group will sum."""
        for model in self._by_model(cell.leaves):
            key = self._key(model, cell_set, cell.columns[cell_set][1:])
            self._uses[key] -= 1
            if not self._uses[key]:
                self._semantics.con.execute(f"drop table if exists {self.created[key]}")

    def drop(self) -> None:
        for table in self.created.values():
            self._semantics.con.execute(f"drop table if exists {table}")


def _rolled_up_answers(semantics: Semantics, cells: _Cells, group: MetricGroup, questions,
                       grain: str):  # fmt: skip
    """Every question of the group summed per split in DuckDB from the finest cells (period x
    the group's org levels, and period x its other splits): two scans of the facts instead of
    one per split. The splits of one cell table are summed in one query (grouping sets): a
    query costs 20-30 ms whatever its size, and a group has up to a dozen splits per grain."""
    con = semantics.con
    metrics = list(group.metrics)
    leaves = semantics.inputs(metrics, expand=lambda name: True)
    order = semantics.evaluated(metrics, expand=lambda name: True)
    calendar = any(semantics.uses_calendar(name) for name in metrics)
    tables = [cells.table(dimension) for dimension, _ in questions]
    summed: dict[str, tuple[pl.DataFrame, list[str]]] = {}
    for index, (table, (_, group_by)) in enumerate(zip(tables, questions, strict=True)):
        if table not in summed:
            group_bys = [q[1] for t, q in zip(tables, questions, strict=True) if t == table]
            sql = _summed_from_cells(cells, table, group_bys, grain, leaves)
            if not calendar:
                sql = _with_expressions(sql, order, semantics.definitions)
            summed[table] = (con.sql(sql).pl(), _split_columns(group_bys))
        answer = _grouping_set(*summed[table], group_by)
        if table not in tables[index + 1 :]:
            # Held only while a question still needs it: the org splits of the workforce facts
            # are a million rows by month.
            del summed[table]
        yield _evaluate(semantics, answer, group_by, order, grain, metrics) if calendar else answer


GROUPING_SET = "kpi_grouping_set"


def _summed_from_cells(cells: _Cells, table: str, group_bys: list[list[str]], grain: str,
                       leaves) -> str:  # fmt: skip
    """The questions' sums from one cell table, one grouping set per question's split columns,
    each row marked with DuckDB's grouping id of the split columns (_grouping_set). At a coarser
    grain than the cells: each leaf summed over the period's months, a month-end figure over its
    last month's cells only (null where a member has none). As in MetricFlow's SQL, a member has
    a row where any leaf has one: with month-end figures only, where it has cells in the last
    month."""
    time = group_bys[0][0]
    splits = _split_columns(group_bys)
    marked = f"grouping({', '.join(splits)})" if splits else "0"
    if cells.time == time:
        sets = ", ".join("(" + ", ".join(group_by) + ")" for group_by in group_bys)
        sums = ", ".join(f"sum({leaf}) as {leaf}" for leaf in leaves)
        return (
            f"select {', '.join([time, *splits])}, {sums}, {marked} as {GROUPING_SET} "
            f"from {table} group by grouping sets ({sets})"
        )
    period = f"date_trunc('{grain}', {cells.time})"
    kinds = {leaf: cells.rollup.get(leaf, SUMMED) for leaf in leaves}
    sums = ", ".join(
        f"sum({leaf}) filter (where {cells.time} = kpi_last_month) as {leaf}"
        if kind == LAST_MONTH
        else f"sum({leaf}) as {leaf}"
        for leaf, kind in kinds.items()
    )
    columns = ", ".join([f"kpi_period as {time}", *splits])
    sets = ", ".join("(" + ", ".join(["kpi_period", *group_by[1:]]) + ")" for group_by in group_bys)
    grouped = f"{sums}, {marked} as {GROUPING_SET}"
    with_period = f"select *, {period} as kpi_period from {table}"
    if LAST_MONTH not in kinds.values():
        return f"select {columns}, {grouped} from ({with_period}) group by grouping sets ({sets})"
    return (
        f"with cells as ({with_period}), "
        f"last_months as (select kpi_period, max({cells.time}) as kpi_last_month from cells "
        f"group by kpi_period) "
        f"select {columns}, {grouped} from cells join last_months using (kpi_period) "
        + (f"where {cells.time} = kpi_last_month " if SUMMED not in kinds.values() else "")
        + f"group by grouping sets ({sets})"
    )


def _split_columns(group_bys: list[list[str]]) -> list[str]:
    """The split columns of questions asked together, in the order first asked."""
    return list(dict.fromkeys(column for group_by in group_bys for column in group_by[1:]))


def _grouping_set(summed: pl.DataFrame, splits: list[str], group_by: list[str]) -> pl.DataFrame:
    """One question's rows of _summed_from_cells: its grouping id, the other split columns
    dropped. DuckDB's grouping id has a bit per split column, the first the highest, set where
    the column is not grouped on: a member that is null (people directly in a unit above an org
    level) stays apart from a column summed over."""
    others = [column for column in splits if column not in group_by]
    mark = sum(1 << (len(splits) - 1 - splits.index(column)) for column in others)
    return summed.filter(pl.col(GROUPING_SET) == mark).drop(*others, GROUPING_SET)


# How a leaf's period value comes from its months: their sum, or the value of the period's last
# month (a month-end figure: a measure non-additive over its own month, `window_choice: max`).
SUMMED, LAST_MONTH = "sum", "last month"


def _measures(manifest: dict) -> dict[str, tuple[dict, dict]]:
    """Every measure by name, with its semantic model."""
    return {
        m["name"]: (m, model)
        for model in manifest["semantic_models"]
        for m in model["measures"]
    }  # fmt: skip


MONTH_CELLS_SUFFIX = "__in_month_cells"


def _in_month_cells(name: str) -> str:
    return f"{name}{MONTH_CELLS_SUFFIX}"


def month_cell_companions(semantics: Semantics, manifest: dict
                          ) -> tuple[tuple[tuple[str, dict], ...], tuple[dict, ...]]:  # fmt: skip
    """For every simple metric of a month-end figure (LAST_MONTH): its measure without the
    non-additive dimension, as (semantic model, measure), and a simple metric of that measure.

    In month cells a month-end figure is its month's sum: every row of a month is of the month's
    last month. Asked as a month-end figure, MetricFlow reads the facts three times (the sums,
    the month-end sums, each period's last month) and joins them: the workforce month cells
    took 12 s of the 100,000-employee KPI tables, half of it for that."""
    measures = _measures(manifest)
    companion_measures, companion_metrics = {}, []
    for name, metric in sorted(semantics.definitions.items()):
        if metric["type"] != "simple":
            continue
        measure, model = measures[metric["type_params"]["measure"]["name"]]
        if _time_kind(semantics, measure, model) != LAST_MONTH:
            continue
        summed = {**json.loads(json.dumps(measure)), "name": _in_month_cells(measure["name"]),
                  "non_additive_dimension": None}  # fmt: skip
        companion_measures[summed["name"]] = (model["name"], summed)
        companion = json.loads(json.dumps(metric))
        companion["name"] = _in_month_cells(name)
        companion["type_params"]["measure"]["name"] = summed["name"]
        for used in companion["type_params"]["input_measures"]:
            used["name"] = _in_month_cells(used["name"])
        companion["config"] = {"meta": {"building_block": True}}
        companion_metrics.append(companion)
    return tuple(companion_measures.values()), tuple(companion_metrics)


def _leaf_models(semantics: Semantics, manifest: dict, leaves: list[str]) -> frozenset[str]:
    """The semantic models the (simple) leaves measure."""
    measures = _measures(manifest)
    return frozenset(
        measures[semantics.definitions[leaf]["type_params"]["measure"]["name"]][1]["name"]
        for leaf in leaves
    )


def _month_rollup(group: MetricGroup, semantics: Semantics, manifest: dict) -> dict | None:
    """How each leaf's quarter and year follow from its month cells, or None where some leaf's
    do not: simple metrics of additive measures, with no time-spine join or null filling, on a
    time axis of days or months; each either summed over time, or a month-end figure.

    A month-end figure's period value is, in MetricFlow's SQL, its sum over the rows of the
    period's last month that has any row of its semantic model at all (one month per period for
    the whole query, not per member), and null for a member with no row in that month. The
    cells reproduce that month only when every leaf comes from that one model: cells exist
    exactly where its rows do."""
    measures = _measures(manifest)
    rollup, models = {}, set()
    for leaf in semantics.inputs(list(group.metrics), expand=lambda name: True):
        metric = semantics.definitions[leaf]
        if metric["type"] != "simple":
            return None
        params = metric["type_params"]["measure"]
        measure, model = measures[params["name"]]
        models.add(model["name"])
        if params.get("join_to_timespine") or params.get("fill_nulls_with") is not None:
            return None
        rollup[leaf] = _time_kind(semantics, measure, model)
        if rollup[leaf] is None:
            return None
    if LAST_MONTH in rollup.values() and len(models) > 1:
        return None
    return rollup


def _time_kind(semantics: Semantics, measure: dict, model: dict) -> str | None:
    """How a measure's period value follows from its months: summed (an additive measure on a
    day or month axis), the last month's (a month-end figure), or neither (None)."""
    if semantics.aggregation[measure["name"]] not in ADDITIVE_AGGREGATIONS:
        return None
    agg_time = agg_time_axis(measure, model)
    granularity = next(
        d["type_params"]["time_granularity"] for d in model["dimensions"] if d["name"] == agg_time
    )
    non_additive = measure.get("non_additive_dimension")
    if not non_additive:
        return SUMMED if granularity in ("day", GRAINS[0]) else None
    if (
        non_additive["name"] == agg_time
        and non_additive.get("window_choice") == "max"
        and not non_additive.get("window_groupings")
        and granularity == GRAINS[0]
    ):
        return LAST_MONTH
    return None


@dataclass
class _Plan:
    """How one metric group's questions are answered."""

    group: MetricGroup
    asked: dict  # grain -> [(dimension, group_by)]
    rolled: list[str]  # grains summed from finest cells
    leaves: list[str]
    rollup: dict | None  # quarters and years from month cells: how each leaf follows

    @classmethod
    def of(cls, group: MetricGroup, semantics: Semantics, manifest: dict) -> "_Plan":
        asked = {grain: list(_questions(group, grain)) for grain in group.grains}
        rolls_up = _rolls_up(group, semantics)
        rolled = [grain for grain in group.grains if rolls_up and len(asked[grain]) > 1]
        leaves = semantics.inputs(list(group.metrics), expand=lambda name: True)
        rollup = (
            _month_rollup(group, semantics, manifest)
            if GRAINS[0] in rolled and len(rolled) > 1
            else None
        )
        return cls(group, asked, rolled, leaves, rollup)


def _shared_month_cells(plans: list[_Plan], semantics: Semantics, generator, manifest: dict
                        ) -> dict[int, _Cells]:  # fmt: skip
    """One set of month cells for all groups answered from month cells whose leaves measure
    the same semantic models, by plan index: their leaves and splits together, each group then
    sums only its own. A cell exists where any row of those models does, which is where
    MetricFlow's answer for any of the groups has a row, so the sums are the same (the workforce
    facts were read again for the daily averages, with the same splits)."""
    together = defaultdict(list)
    for index, plan in enumerate(plans):
        if plan.rollup:
            together[_leaf_models(semantics, manifest, plan.leaves)].append(index)
    shared = {}
    for indices in together.values():
        members = [plans[index] for index in indices]
        leaves = list(dict.fromkeys(leaf for plan in members for leaf in plan.leaves))
        rollup = {leaf: kind for plan in members for leaf, kind in plan.rollup.items()}
        questions = [q for plan in members for grain in plan.rolled for q in plan.asked[grain]]
        cells = _Cells(semantics, generator, leaves, f"metric_time__{GRAINS[0]}", questions,
                       rollup)  # fmt: skip
        shared.update(dict.fromkeys(indices, cells))
    return shared


def _dimension_label(group: MetricGroup, dimension: str) -> str:
    """The table's `dimension` of an answer split by `dimension`: a split under a forced one
    names both."""
    if not group.forced or dimension == group.forced:
        return dimension
    return f"{group.forced}/{dimension}"


def _enum(values: set[str]) -> str:
    if not values:
        # No metric to write (DuckDB has no empty enum): the tables stay empty either way.
        return "varchar"
    # In name order: an enum sorts by its list, and readers order these columns as text.
    return "enum(" + ", ".join("'" + v.replace("'", "''") + "'" for v in sorted(values)) + ")"


def _create_building_tables(con: duckdb.DuckDBPyConnection, plans: list[_Plan]) -> None:
    """The KPI tables to fill, `metric` and `dimension` as enums of the names they will hold
    (and those of the frozen periods, which replace this run's). Every row repeats both names:
    as text they were a third of the time it takes to write the rows (45 million at 100,000
    employees) and again of the serving copy; as enums DuckDB stores a small number that
    compresses at once (DECISIONS.md, 2026-12-03, session 26)."""
    metrics = {metric for plan in plans for metric in plan.group.metrics}
    dimensions = {
        _dimension_label(plan.group, dimension)
        for plan in plans
        for questions in plan.asked.values()
        for dimension, _ in questions
    }
    for grain in GRAINS:
        frozen = f"{FROZEN_SCHEMA}.metrics_{grain}"
        if _exists(con, frozen):
            for metric, dimension in con.sql(
                f"select distinct cast(metric as varchar), cast(dimension as varchar) from {frozen}"
            ).fetchall():
                metrics.add(metric)
                dimensions.add(dimension)
    for grain in GRAINS:
        con.execute(
            f"create or replace table {_building(grain)} (metric {_enum(metrics)}, "
            f"period_start date, dimension {_enum(dimensions)}, member varchar, value double)"
        )


def _facts_from(manifest: dict, first_day: dt.date) -> dict[tuple[str, str], str]:
    """Per semantic model with measures, (relation, model) -> the condition that keeps its rows
    on or after `first_day` on any time axis its measures are aggregated on. A row before it
    on every axis counts in no period from `first_day` on; one without a date in none at all."""
    conditions = {}
    for model in manifest["semantic_models"]:
        if not model["measures"]:
            continue
        columns = {d["name"]: d.get("expr") or d["name"] for d in model["dimensions"]
                   if d["type"] == "time"}  # fmt: skip
        axes = dict.fromkeys(columns[agg_time_axis(m, model)] for m in model["measures"])
        conditions[(model["node_relation"]["relation_name"], model["name"])] = " or ".join(
            f"({axis}) >= date '{first_day.isoformat()}'" for axis in axes
        )
    return conditions


def _months_reached_back(manifest: dict) -> int | None:
    """How many months before its period the facts of any metric reach: the longest rolling
    window; None when some cumulative metric reaches back without bound."""
    reach = 0
    for metric in manifest["metrics"]:
        if metric["type"] != "cumulative":
            continue
        params = metric["type_params"].get("cumulative_type_params") or {}
        window = params.get("window") or {}
        if params.get("grain_to_date") or window.get("granularity") != "month":
            return None
        reach = max(reach, window["count"])
    return reach


# The metrics of which the frozen archive holds every closed period that had a figure.
FROZEN_METRICS = f"{FROZEN_SCHEMA}.archived_metrics"


def frozen_periods_reused_before(con: duckdb.DuckDBPyConnection, manifest: dict,
                                 catalog: pl.DataFrame) -> dt.date | None:  # fmt: skip
    """From which day on a run must compute KPI periods itself: every period before it is a
    closed one the frozen archive replaces (freeze_closed_periods), so computing it is work
    thrown away (eight of ten years with a two-year HR window: the 100,000-employee KPI tables
    40-48 s instead of 100 s, DECISIONS.md 2026-12-03, session 27). None
    (compute all) before the first freeze, and when a metric has nothing in the archive yet (a
    new metric, or one without a figure so far): its closed periods are computed and frozen.

    The first day of the year of the archive's boundary: every quarter and year from then on
    lies wholly after it, so each period computed is computed from all its months."""
    boundary = frozen_before(con)
    if boundary is None or not _exists(con, FROZEN_METRICS):
        return None
    archived = set(con.execute(f"select grain, metric from {FROZEN_METRICS}").fetchall())
    written = {
        (grain, metric)
        for group in metric_groups(manifest, catalog)
        for grain in group.grains
        for metric in group.metrics
    }
    return dt.date(boundary.year, 1, 1) if written <= archived else None


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
            [schema, name],
        ).fetchall()[0][0]
    )


def build_kpi_tables(
    con: duckdb.DuckDBPyConnection,
    project_dir: Path,
    manifest: dict,
    catalog: pl.DataFrame,
    since: dt.date | None = None,
) -> dict:
    """Create kpi.metrics_<grain> in the connected warehouse; return counts and timings. With
    `since` (frozen_periods_reused_before), only the periods starting on or after it."""
    semantics = Semantics(con, manifest)
    measures, metrics = month_cell_companions(semantics, manifest)
    generator = MetricSql(project_dir, semantics.per_month_metrics() + metrics, measures)
    reach = _months_reached_back(manifest)
    if reach is None:
        since = None
    if since is not None:
        windowed = _rolling_metrics(semantics.definitions)
        windowed |= {companion for companion, _ in semantics.windowed.values()}
        generator.facts = _FactsRead(
            own=_facts_from(manifest, since),
            window_from=_facts_from(manifest, add_months(since, -reach)),
            windowed=frozenset(windowed),
        )
    con.execute(f"create schema if not exists {KPI_SCHEMA}")
    started = time.monotonic()
    queries = 0
    slowest = []
    plans = [_Plan.of(group, semantics, manifest) for group in metric_groups(manifest, catalog)]
    # Written answer by answer into tables built beside the live ones: the long tables are tens
    # of millions of rows at 100,000 employees, and held whole as frames they were the night's
    # peak memory. The live tables are replaced only once every answer is in.
    _create_building_tables(con, plans)
    rows = _KpiRows(con, since)
    shared = _shared_month_cells(plans, semantics, generator, manifest)
    own = {
        (index, grain): _Cells(
            semantics, generator, plan.leaves, f"metric_time__{grain}", plan.asked[grain]
        )
        for index, plan in enumerate(plans)
        for grain in plan.rolled
        if index not in shared
    }
    models = _ModelCells(semantics, generator, manifest,
                         list(dict.fromkeys([*shared.values(), *own.values()])))  # fmt: skip
    with planned_for_metricflow(con):
        for index, plan in enumerate(plans):
            group = plan.group
            for grain in group.grains:
                group_started = time.monotonic()
                questions = plan.asked[grain]
                cells = None
                if grain in plan.rolled:
                    cells = shared.get(index) or own.pop((index, grain))
                    answers = _rolled_up_answers(semantics, cells, group, questions, grain)
                else:
                    answers = (
                        _answer(semantics, generator, group, group_by, grain)
                        for _, group_by in questions
                    )
                    queries += len(questions)
                try:
                    for (dimension, group_by), answer in zip(questions, answers, strict=True):
                        rows.add(grain, _wide(answer, group, dimension, group_by), group.metrics)
                finally:
                    if cells is not None and cells is not shared.get(index):
                        queries += cells.asked
                        cells.drop()
                seconds = round(time.monotonic() - group_started, 1)
                slowest.append((seconds, f"{'+'.join(group.models)} by {grain}"))
            cells = shared.pop(index, None)
            if cells is not None and cells not in shared.values():
                queries += cells.asked
                cells.drop()
        queries += len(models.created)
        models.drop()
    rows.flush()
    con.execute("begin transaction")
    for grain in GRAINS:
        con.execute(f"drop table if exists {table_name(grain)}")
        con.execute(f"alter table {_building(grain)} rename to metrics_{grain}")
    con.execute("commit")
    generator.save()
    return {
        "queries": queries,
        "computed_from": str(since) if since else None,
        "seconds": round(time.monotonic() - started, 1),
        "rows": rows.counts,
        "slowest": [f"{what}: {seconds} s" for seconds, what in sorted(slowest, reverse=True)[:5]],
    }


# Periods freeze a little ahead of the retention horizon, so that the people who cross it before
# the next run are already counted in frozen figures when retention removes them.
FREEZE_MARGIN_MONTHS = 3


def freeze_closed_periods(con: duckdb.DuckDBPyConnection, hr_horizon: dt.date,
                          manifest: dict) -> dict:  # fmt: skip
    """Keep closed periods as they were first published: figures of periods starting before the
    HR retention horizon (plus a margin) are archived in kpi_frozen once and from then on replace
    what this run computed. The people in them may since have been removed (AVG retention,
    ingestion/retention.py); the aggregates that no longer identify anyone stay."""
    boundary = add_months(hr_horizon.replace(day=1), FREEZE_MARGIN_MONTHS)
    definitions = {metric["name"]: metric for metric in manifest["metrics"]}
    rolling = sorted(_rolling_metrics(definitions))
    # A rolling figure counts the months of its window before its own: it closes as many months
    # later (the same reach the KPI tables read back for). One whose window has no bound never
    # closes, so it is never frozen.
    reach = _months_reached_back(manifest)
    rolling_boundary = None if reach is None else add_months(boundary, reach)
    con.execute(f"create schema if not exists {FROZEN_SCHEMA}")
    con.execute(
        f"create table if not exists {FROZEN_BOUNDARY} (frozen_before date, frozen_at timestamp)"
    )
    closed = (
        "period_start < case when list_contains($rolling_metrics, cast(metric as varchar)) "
        "then $rolling else $frozen end"
    )
    counts = {}
    for grain in GRAINS:
        live, frozen = table_name(grain), f"{FROZEN_SCHEMA}.metrics_{grain}"
        # Text, not the live tables' enums: the archive outlives the names of any one night.
        con.execute(
            f"create table if not exists {frozen} as select cast(metric as varchar) as metric, "
            f"period_start, cast(dimension as varchar) as dimension, member, value "
            f"from {live} limit 0"
        )
        bounds = {"frozen": boundary, "rolling": rolling_boundary, "rolling_metrics": rolling}
        # Only periods frozen by an earlier run are replaced: one frozen now is, row for row, what
        # this run computed (36 million rows at 100,000 employees, rewritten for nothing).
        con.execute(
            "create or replace temp table earlier_frozen as "
            f"select distinct metric, period_start from {frozen}"
        )
        same_period = (
            "exists (select 1 from earlier_frozen as f where f.metric = {t}.metric "
            "and f.period_start = {t}.period_start)"
        )
        con.execute(
            f"insert into {frozen} select * from {live} as l where {closed} "
            f"and not {same_period.format(t='l')}",
            bounds,
        )
        con.execute(f"delete from {live} where {same_period.format(t=live)}")
        con.execute(
            f"insert into {live} select * from {frozen} as l where {same_period.format(t='l')}"
        )
        con.execute("drop table earlier_frozen")
        counts[frozen] = con.sql(f"select count(*) from {frozen}").fetchall()[0][0]
    con.execute(f"create table if not exists {FROZEN_METRICS} (grain varchar, metric varchar)")
    for grain in GRAINS:
        # Every metric with a figure now: each of its closed periods with a figure is archived.
        con.execute(
            f"insert into {FROZEN_METRICS} select distinct ?, cast(metric as varchar) "
            f"from {table_name(grain)} where cast(metric as varchar) not in "
            f"(select metric from {FROZEN_METRICS} where grain = ?)",
            [grain, grain],
        )
    con.execute(f"insert into {FROZEN_BOUNDARY} values (?, current_timestamp)", [boundary])
    return {"frozen_before": str(boundary), "rows": counts}


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


def _wide(answer: pl.DataFrame, group: MetricGroup, dimension: str, group_by: list[str]):
    """One answer as the table's columns, one column per metric; sorted by member and period."""
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
            pl.lit(_dimension_label(group, dimension)).alias("dimension"),
            member.alias("member"),
            *[pl.col(m).cast(pl.Float64) for m in group.metrics],
        )
        # A record without a date on the metric's time axis (a spell not yet ended, for the
        # ended-spell measures) belongs to no period: not a figure of any period.
        .filter(pl.col("period_start").is_not_null())
        .sort("member", "period_start")
    )


def read_published(serving: Path, grain: str, metrics: list[str], dimension: str | None,
                   start: dt.date | None, end: dt.date | None) -> pl.DataFrame | None:  # fmt: skip
    """The answer from the published KPI table, or None when it does not hold the question."""
    if not serving.exists() or dimension == PROJECTION_YEAR:
        return None
    dimension = dimension or TOTAL
    with duckdb.connect(str(serving), read_only=True) as con:
        if not _exists(con, table_name(grain)):
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
