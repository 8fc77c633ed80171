"""Published survey results: every group figure the platform may show, with anonymity applied.

Groups are an org unit with everything below it, per wave, for all respondents and, in
confidential waves, split by one HR attribute (job family, tenure band, age band, contract type,
manager). The figures are the governed metric definitions (dbt_project/models/semantic/
sem_engagement.yml): MetricFlow answers their additive parts per finest cell in one query, the
parts are summed per group, and the derived metrics' own expressions are evaluated on those sums.
Then metrics.anonymity decides which groups may be shown; the others are published as nulls with
a reason. `peoplemart kpi` answers survey metrics from these tables only.
"""

import json
from collections import defaultdict
from pathlib import Path

import duckdb
import polars as pl

from ingestion.duckdb_memory import bounded_connect
from metrics.anonymity import Partition, checked_min_group_size, suppress
from metrics.kpi_tables import MetricSql
from metrics.query import KpiQuery, KpiQueryError

SURVEY_METRICS = ("respondents", "engagement_index", "engaged_share", "enps", "response_rate")
DRIVER_METRIC = "driver_score"
ATTRIBUTES = ("job_family", "tenure_band", "age_band", "contract_type", "manager")
ALL = "all"
RESULTS_TABLE = "survey.engagement_results"
FLAG_SCHEMA = {
    "wave_id": pl.String,
    "org_unit_id": pl.String,
    "attribute": pl.String,
    "attribute_value": pl.String,
    "is_suppressed": pl.Boolean,
    "suppression_reason": pl.String,
}
DRIVERS_TABLE = "survey.driver_results"


def _inputs(manifest: dict, metric: str) -> list[str]:
    definition = next(m for m in manifest["metrics"] if m["name"] == metric)
    return [m["name"] for m in definition["type_params"]["metrics"]] or [metric]


def _expression(manifest: dict, metric: str) -> str:
    definition = next(m for m in manifest["metrics"] if m["name"] == metric)
    return definition["type_params"]["expr"] or metric


def _tree(con: duckdb.DuckDBPyConnection) -> tuple[dict, dict]:
    rows = con.sql("select org_unit_id, parent_org_unit_id, org_level from marts.dim_org_units")
    parent, level = {}, {}
    for unit, parent_unit, depth in rows.fetchall():
        parent[unit], level[unit] = parent_unit, depth
    return parent, level


def _ancestors(unit: str | None, parent: dict) -> list[str]:
    chain = []
    while unit is not None and unit in parent:
        chain.append(unit)
        unit = parent[unit]
    return chain


def _ancestry(parent: dict) -> pl.DataFrame:
    """Every unit with each of its ancestors (itself included, marked direct)."""
    return pl.DataFrame(
        [
            {"org_unit": unit, "org_unit_id": node, "direct": node == unit}
            for unit in parent
            for node in _ancestors(unit, parent)
        ],
        schema={"org_unit": pl.String, "org_unit_id": pl.String, "direct": pl.Boolean},
    )


def _group_sums(components: list[str], extra_keys: tuple[str, ...] = ()) -> str:
    """SQL over the tables `cells` and `ancestry`: the additive components of every cell summed
    into each group it belongs to. A cell joins every ancestor of its unit, once for all
    respondents and once per attribute. Summed in DuckDB under the memory bound: the stacked rows
    (18 million for 605,000 cells at 100,000 employees) held as frames took 3.5 GB."""
    carried = "".join(f"cells.{key}, " for key in extra_keys)
    values = ", ".join(f"coalesce(cast(cells.{c} as double), 0) as {c}" for c in components)
    placed = (
        f"select cells.wave_id, {carried}ancestry.org_unit_id, ancestry.direct, {{attribute}}, "
        f"{values} from cells inner join ancestry on cells.org_unit = ancestry.org_unit"
    )
    parts = [placed.format(attribute=f"'{ALL}' as attribute, null::varchar as attribute_value")]
    # Respondents without the attribute (not found in HR, or an anonymous wave) are in no split
    # group: they stay a hidden part of the unit's whole.
    for attribute in ATTRIBUTES:
        parts.append(
            placed.format(
                attribute=f"'{attribute}' as attribute, "
                f"cast(cells.{attribute} as varchar) as attribute_value"
            )
            + f" where cells.anonymity = 'confidential' and cells.{attribute} is not null"
        )
    keys = ", ".join(["wave_id", *extra_keys, "org_unit_id", "attribute", "attribute_value"])
    sums = ", ".join(
        [f"sum({c}) as {c}" for c in components]
        + [f"coalesce(sum({c}) filter (where direct), 0) as direct_{c}" for c in components]
    )
    return f"select {keys}, {sums} from ({' union all '.join(parts)}) group by all"


def build_groups(cells: pl.DataFrame, parent: dict, components: list[str]) -> pl.DataFrame:
    """The summed components of every group the cells belong to (see _group_sums)."""
    con = bounded_connect()
    try:
        con.register("cells", cells)
        con.register("ancestry", _ancestry(parent))
        return con.sql(_group_sums(components)).pl()
    finally:
        con.close()


def anonymity_flags(groups: pl.DataFrame, parent: dict, min_group_size: int) -> pl.DataFrame:
    """Which groups are suppressed, by the partitions and nestings a reader could exploit."""
    flags = []
    for wave_id, wave_groups in groups.group_by("wave_id"):
        # Column-wise: a dict per row costs seconds at 1.5 million groups.
        keys = list(
            zip(
                wave_groups["org_unit_id"],
                wave_groups["attribute"],
                wave_groups["attribute_value"],
                strict=True,
            )
        )
        sizes = dict(zip(keys, map(int, wave_groups["respondents"]), strict=True))
        direct = dict(zip(keys, map(int, wave_groups["direct_respondents"]), strict=True))
        children = defaultdict(list)
        for unit, parent_unit in parent.items():
            children[parent_unit].append(unit)
        partitions, nested = [], []
        for key in sizes:
            unit, attribute, value = key
            parts = tuple(
                (c, attribute, value) for c in children[unit] if (c, attribute, value) in sizes
            )
            # The unit's own members are not a published group: a hidden part of the whole.
            partitions.append(Partition(key, parts, direct[key]))
            # Only pairs whose difference could reveal someone: all others never act.
            outers = [
                outer
                for ancestor in _ancestors(parent.get(unit), parent)
                for outer in ((ancestor, attribute, value), (ancestor, ALL, None))
            ] + ([(unit, ALL, None)] if attribute != ALL else [])
            nested += [
                (outer, key) for outer in outers
                if 0 < sizes.get(outer, 0) - sizes[key] < min_group_size
            ]  # fmt: skip
        by_unit_attribute = defaultdict(list)
        for key in sizes:
            by_unit_attribute[(key[0], key[1])].append(key)
        for unit in {k[0] for k in sizes}:
            for attribute in ATTRIBUTES:
                parts = tuple(by_unit_attribute.get((unit, attribute), ()))
                if parts:
                    shown_total = sum(sizes[p] for p in parts)
                    unknown = sizes[(unit, ALL, None)] - shown_total
                    partitions.append(Partition((unit, ALL, None), parts, unknown))
        result = suppress(sizes, partitions, min_group_size, nested)
        flags.append(
            pl.DataFrame(
                {
                    "wave_id": [wave_id[0]] * len(sizes),
                    "org_unit_id": [key[0] for key in sizes],
                    "attribute": [key[1] for key in sizes],
                    "attribute_value": [key[2] for key in sizes],
                    "is_suppressed": [key in result.suppressed for key in sizes],
                    "suppression_reason": [result.reasons.get(key) for key in sizes],
                },
                schema=FLAG_SCHEMA,
            )
        )
    return pl.concat(flags) if flags else pl.DataFrame(schema=FLAG_SCHEMA)


def _evaluate(frame: pl.DataFrame, expressions: dict[str, str]) -> pl.DataFrame:
    """The governed derived-metric expressions, evaluated by DuckDB on the summed components."""
    con = bounded_connect()
    try:
        con.register("summed", frame)
        select = ", ".join(f"({expr}) as {name}" for name, expr in expressions.items())
        return con.sql(f"select *, {select} from summed").pl()
    finally:
        con.close()


def _numbers(frame: pl.DataFrame, metrics: list[str]) -> pl.DataFrame:
    """MetricFlow's SQL gives decimals and integers; the suppression arithmetic wants floats."""
    return frame.with_columns(pl.col(m).cast(pl.Float64) for m in metrics)


def publish_survey_results(
    home: Path, project_dir: Path, min_group_size: int | None = None
) -> dict:
    """Compute, suppress and write the survey result tables into the warehouse."""
    min_group_size = checked_min_group_size(min_group_size)
    manifest = json.loads((project_dir / "target" / "semantic_manifest.json").read_text())
    derived = [m for m in SURVEY_METRICS if m != "respondents"]
    components = sorted({c for m in derived for c in _inputs(manifest, m)} | {"respondents"})
    group_by = ["wave__wave_id", "wave__anonymity", "segment__org_unit"] + [
        f"segment__{a}" for a in ATTRIBUTES
    ]
    # MetricFlow plans the SQL in-process (no `mf` start-up per question); DuckDB runs it.
    planner = MetricSql(project_dir)
    with bounded_connect(home / "warehouse.duckdb", read_only=True) as con:
        cells = _numbers(con.sql(planner.sql(components, group_by)).pl(), components)
        driver_inputs = _inputs(manifest, DRIVER_METRIC)
        drivers = _numbers(
            con.sql(planner.sql(driver_inputs, [*group_by, "construct_score__construct"])).pl(),
            driver_inputs,
        )
    planner.save()
    renames = {g: g.split("__", 1)[1] for g in [*group_by, "construct_score__construct"]}
    renames["wave__wave_id"], renames["wave__anonymity"] = "wave_id", "anonymity"
    cells = cells.rename(renames, strict=False)
    drivers = drivers.rename(renames, strict=False)
    with bounded_connect(home / "warehouse.duckdb", read_only=True) as con:
        parent, _ = _tree(con)
    # Invitations carry no wave anonymity of their own: take it from the wave's respondents.
    anonymity = dict(cells.drop_nulls("anonymity").select("wave_id", "anonymity").iter_rows())
    cells = cells.with_columns(pl.col("wave_id").replace_strict(anonymity, default=None).alias(
        "anonymity"))  # fmt: skip
    groups = build_groups(cells, parent, components)
    flags = anonymity_flags(groups, parent, min_group_size)
    keys = ["wave_id", "org_unit_id", "attribute", "attribute_value"]
    results = _evaluate(groups, {m: _expression(manifest, m) for m in derived}).join(
        flags, on=keys, how="left", nulls_equal=True
    )
    shown = ~pl.col("is_suppressed")
    results = results.select(
        *keys,
        pl.when(shown).then(pl.col("respondents")).alias("respondents"),
        pl.when(shown).then(pl.col("invited")).alias("invited"),
        *[pl.when(shown).then(pl.col(m)).alias(m) for m in derived],
        "is_suppressed",
        "suppression_reason",
    )
    with bounded_connect(home / "warehouse.duckdb") as con:
        con.execute("create schema if not exists survey")
        con.register("results_frame", results)
        con.execute(f"create or replace table {RESULTS_TABLE} as select * from results_frame")
        if drivers.height:
            # Five constructs x every group: summed, scored and flagged in DuckDB, never held
            # as frames (at 100,000 employees 7.4 million rows, copied at each step).
            con.register("cells", drivers)
            con.register("ancestry", _ancestry(parent))
            con.register("flags", flags)
            groups_sql = _group_sums(_inputs(manifest, DRIVER_METRIC), ("construct",))
            con.execute(f"""
                create or replace table {DRIVERS_TABLE} as
                select groups.wave_id, groups.org_unit_id, groups.attribute,
                    groups.attribute_value, groups.construct,
                    case when not coalesce(flags.is_suppressed, true)
                        then ({_expression(manifest, DRIVER_METRIC)}) end as {DRIVER_METRIC},
                    coalesce(flags.is_suppressed, true) as is_suppressed
                from ({groups_sql}) as groups
                left join flags
                    on groups.wave_id = flags.wave_id
                    and groups.org_unit_id = flags.org_unit_id
                    and groups.attribute = flags.attribute
                    and groups.attribute_value is not distinct from flags.attribute_value
            """)
    return {
        "groups": results.height,
        "suppressed": int(results["is_suppressed"].sum()),
        "min_group_size": min_group_size,
    }


def is_survey_question(metrics: list[str]) -> bool:
    survey = [m for m in metrics if m in (*SURVEY_METRICS, DRIVER_METRIC)]
    if survey and len(survey) != len(metrics):
        raise KpiQueryError(
            f"{', '.join(survey)} are survey figures, published with anonymity rules applied; "
            "ask for them separately from other metrics"
        )
    return bool(survey)


def answer_survey(query: KpiQuery, home: Path) -> pl.DataFrame:
    """Survey metrics from the published, anonymity-checked results (never from raw facts)."""
    if query.grain:
        raise KpiQueryError("survey figures are per wave: leave out --grain (use --from/--to)")
    # Every answer is per wave (and driver scores per construct): asking for them is a no-op.
    by = [d for d in query.by if d not in ("wave", "construct")]
    if "construct" in query.by and DRIVER_METRIC not in query.metrics:
        raise KpiQueryError("--by construct splits driver_score only")
    org = [d for d in by if d == "org_unit" or d.startswith("org_level_")]
    attributes = [d for d in by if d in ATTRIBUTES]
    rest = [d for d in by if d not in org and d not in attributes]
    if rest or len(org) > 1 or len(attributes) > 1:
        raise KpiQueryError(
            "survey figures split by at most one of org_unit/org_level_N and one of "
            f"{', '.join(ATTRIBUTES)}; not by {', '.join(rest) or ', '.join(query.by)}"
        )
    drivers = DRIVER_METRIC in query.metrics
    if drivers and len(query.metrics) > 1:
        raise KpiQueryError("driver_score is one row per construct: ask for it on its own")
    table = DRIVERS_TABLE if drivers else RESULTS_TABLE
    level = (
        "org_units.org_level = 1"
        if not org
        else "true"
        if org[0] == "org_unit"
        else f"org_units.org_level = {int(org[0].rsplit('_', 1)[1])}"
    )
    attribute = attributes[0] if attributes else ALL
    columns = ["results.wave_id as wave"]
    if org:
        columns.append(f"results.org_unit_id as {org[0]}")
    if attributes:
        columns.append(f"results.attribute_value as {attribute}")
    if drivers:
        columns.append("results.construct")
    columns += [f"results.{m}" for m in query.metrics] + ["results.is_suppressed as suppressed"]
    sql = f"""
        select {", ".join(columns)}
        from {table} as results
        join staging.stg_survey__waves as waves on results.wave_id = waves.wave_id
        join marts.dim_org_units as org_units on results.org_unit_id = org_units.org_unit_id
        where results.attribute = ? and {level}
          and (cast(? as date) is null or waves.start_date >= cast(? as date))
          and (cast(? as date) is null or waves.start_date <= cast(? as date))
        order by all"""
    start, end = query.start, query.end
    with bounded_connect(home / "warehouse.duckdb", read_only=True) as con:
        tables = {r[0] for r in con.sql(
            "select schema_name || '.' || table_name from duckdb_tables()").fetchall()}  # fmt: skip
        if table not in tables:
            raise KpiQueryError(f"no published survey results in {home}: run the pipeline")
        return con.sql(sql, params=[attribute, start, start, end, end]).pl()
