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
from pathlib import Path

import duckdb
import polars as pl

from ingestion.duckdb_memory import bounded_connect
from metrics.anonymity import Partition, checked_min_group_size, small_group_reason, suppress
from metrics.kpi_tables import MetricSql, planned_for_metricflow
from metrics.published import connect_warehouse, require_built_marts
from metrics.query import KpiQuery, KpiQueryError

SURVEY_METRICS = ("respondents", "engagement_index", "engaged_share", "enps", "response_rate")
DRIVER_METRIC = "driver_score"
ATTRIBUTES = ("job_family", "tenure_band", "age_band", "contract_type", "manager")
ALL = "all"
RESULTS_TABLE = "survey.engagement_results"
DRIVERS_TABLE = "survey.driver_results"


def _inputs(manifest: dict, metric: str) -> list[str]:
    definition = next(m for m in manifest["metrics"] if m["name"] == metric)
    return [m["name"] for m in definition["type_params"]["metrics"]] or [metric]


def _expression(manifest: dict, metric: str) -> str:
    definition = next(m for m in manifest["metrics"] if m["name"] == metric)
    return definition["type_params"]["expr"] or metric


def _parents(con: duckdb.DuckDBPyConnection) -> dict:
    """Every org unit's parent unit (None for the root)."""
    return dict(
        con.sql("select org_unit_id, parent_org_unit_id from marts.dim_org_units").fetchall()
    )


def _ancestors(unit: str | None, parent: dict) -> list[str]:
    chain = []
    while unit is not None and unit in parent:
        chain.append(unit)
        unit = parent[unit]
    return chain


def _ancestry(parent: dict) -> pl.DataFrame:
    """Every unit with each of its ancestors and how many levels up it is (itself at 0)."""
    return pl.DataFrame(
        [
            {"org_unit": unit, "org_unit_id": node, "distance": distance}
            for unit in parent
            for distance, node in enumerate(_ancestors(unit, parent))
        ],
        schema={"org_unit": pl.String, "org_unit_id": pl.String, "distance": pl.Int32},
    )


def _group_sums(components: list[str], extra_keys: tuple[str, ...] = ()) -> str:
    """SQL over the tables `cells` and `ancestry`: the additive components of every cell summed
    into each group it belongs to. A cell joins every ancestor of its unit, once for all
    respondents and once per attribute. Summed in DuckDB under the memory bound: the stacked rows
    (18 million for 605,000 cells at 100,000 employees) held as frames took about 4 GB."""
    carried = "".join(f"cells.{key}, " for key in extra_keys)
    values = ", ".join(f"coalesce(cast(cells.{c} as double), 0) as {c}" for c in components)
    placed = (
        f"select cells.wave_id, {carried}ancestry.org_unit_id, ancestry.distance = 0 as direct, "
        f"{{attribute}}, {values} "
        "from cells inner join ancestry on cells.org_unit = ancestry.org_unit"
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
    with bounded_connect() as con:
        con.register("cells", cells)
        con.register("ancestry", _ancestry(parent))
        return con.sql(_group_sums(components)).pl()


def anonymity_flags(groups: pl.DataFrame, parent: dict, min_group_size: int) -> pl.DataFrame:
    """Which of these groups are suppressed, and why (see _create_flags)."""
    with bounded_connect() as con:
        con.register("groups", groups)
        con.register("ancestry", _ancestry(parent))
        _create_flags(con, min_group_size)
        return con.sql("select * from flags").pl()


def _create_flags(con: duckdb.DuckDBPyConnection, min_group_size: int) -> None:
    """The temp table `flags`: which groups of the table `groups` are suppressed, and why, by
    the partitions and nestings a reader could exploit (`ancestry` gives the org tree).

    A partition can make suppress() act only if its whole is large enough (else every part is
    too small, and so is the whole) and its hidden part starts between zero and the threshold:
    every group a rule suppresses was shown, so it adds at least the threshold. The pairs act
    only when their difference is small. DuckDB finds those few candidates among the
    1.5 million groups (100,000 employees) and suppress() decides on them alone; every other
    group is suppressed exactly when it is too small. Only the candidates and the decisions are
    held in Python: the groups stay in DuckDB, under its memory bound (at a million employees
    the groups, held as frames, took the night's process past 23 GB)."""
    # Candidates are taken in a fixed order: unit, split (as in ATTRIBUTES), value.
    params = {"m": min_group_size, "attributes": [ALL, *ATTRIBUTES]}
    con.execute(_SIZES_SQL)
    partitions = con.sql(_CANDIDATE_PARTITIONS_SQL, params=params).pl()
    nested = con.sql(_CANDIDATE_PAIRS_SQL, params=params).pl()
    decided = []
    for wave_id in sorted(set(partitions["wave_id"]) | set(nested["wave_id"])):
        result = _suppress_candidates(
            partitions.filter(pl.col("wave_id") == wave_id),
            nested.filter(pl.col("wave_id") == wave_id),
            min_group_size,
        )
        decided += [(wave_id, *key, reason) for key, reason in result.reasons.items()]
    keys = ["wave_id", "org_unit_id", "attribute", "attribute_value"]
    con.register(
        "decided",
        pl.DataFrame(
            decided, schema={k: pl.String for k in [*keys, "suppression_reason"]}, orient="row"
        ),
    )
    con.execute(
        """
        create or replace temp table flags as
        select wave_id, org_unit_id, attribute, attribute_value,
            suppression_reason is not null as is_suppressed, suppression_reason
        from (
            select groups.wave_id, groups.org_unit_id, groups.attribute, groups.attribute_value,
                coalesce(
                    decided.suppression_reason,
                    case when cast(groups.respondents as bigint) < $m then $small end
                ) as suppression_reason
            from groups
            left join decided
                on decided.wave_id = groups.wave_id and decided.org_unit_id = groups.org_unit_id
                and decided.attribute = groups.attribute
                and decided.attribute_value is not distinct from groups.attribute_value
        )
        """,
        {"m": min_group_size, "small": small_group_reason(min_group_size)},
    )
    con.unregister("decided")


def _suppress_candidates(partitions: pl.DataFrame, nested: pl.DataFrame, min_group_size: int):
    """suppress() over one wave's candidate partitions (one row per part) and pairs, in a fixed
    order: which part a partition gives up can depend on what an earlier one gave up. Every group
    here is large enough to be shown, so what suppress() decides is all complementary or
    differencing suppression."""
    sizes = {}
    stated: dict[tuple, dict] = {}
    # Columns zipped, not rows as dicts: half a million candidate rows at 100,000 employees.
    rows = zip(*(partitions[column].to_list() for column in _PARTITION_COLUMNS), strict=True)
    for unit, attribute, value, whole_size, hidden, position, *part, part_size in rows:
        whole = (unit, attribute, value)
        sizes[whole] = whole_size
        partition = stated.setdefault((position, whole), {"parts": [], "unpublished": hidden})
        if part[0] is not None:
            part = tuple(part)
            sizes[part] = part_size
            partition["parts"].append(part)
    pairs = []
    rows = zip(*(nested[column].to_list() for column in nested.columns[1:]), strict=True)
    for *outer_and_inner, outer_size, inner_size in rows:
        outer, inner = tuple(outer_and_inner[:3]), tuple(outer_and_inner[3:])
        sizes[outer], sizes[inner] = outer_size, inner_size
        pairs.append((outer, inner))
    return suppress(
        sizes,
        [Partition(whole, tuple(p["parts"]), p["unpublished"])
         for (_, whole), p in sorted(stated.items(), key=lambda item: item[0][0])],
        min_group_size,
        pairs,
    )  # fmt: skip


_PARTITION_COLUMNS = (
    "org_unit_id", "attribute", "attribute_value", "whole_size", "hidden", "position",
    "part_unit", "part_attribute", "part_value", "part_size",
)  # fmt: skip

_SIZES_SQL = """
create or replace temp table sizes as
select wave_id, org_unit_id as unit, attribute, attribute_value as value,
    cast(respondents as bigint) as size, cast(direct_respondents as bigint) as direct
from groups
"""
# A unit's partition by the org tree: its child units' groups with the same split, its own
# members unpublished. A unit's partition by an attribute: its groups per value of it, the
# respondents without a value unpublished. A part too small to be shown is always suppressed, so
# it is stated as hidden respondents (`hidden`), not as a part: suppress() counts it the same.
# Rows: one per part that can be shown (a partition without one: a row with null parts),
# numbered in the order suppress() takes them.
_CANDIDATE_PARTITIONS_SQL = """
with small_children as (
    select child.wave_id, up.org_unit_id as unit, child.attribute, child.value,
        sum(child.size) as size
    from sizes as child
    inner join ancestry as up on up.org_unit = child.unit and up.distance = 1
    where child.size < $m
    group by all
),
by_org as (
    select whole.wave_id, whole.unit, whole.attribute, whole.value, whole.size as whole_size,
        whole.direct + coalesce(small.size, 0) as hidden, 0 as kind
    from sizes as whole
    left join small_children as small
        on small.wave_id = whole.wave_id and small.unit = whole.unit
        and small.attribute = whole.attribute and small.value is not distinct from whole.value
    where whole.size >= $m and hidden between 1 and $m - 1
),
by_attribute as (
    select parts.wave_id, parts.unit, parts.attribute, whole.size as whole_size,
        cast(whole.size - sum(parts.size)
            + coalesce(sum(parts.size) filter (where parts.size < $m), 0) as bigint) as hidden,
        1 as kind
    from sizes as parts
    inner join sizes as whole
        on whole.wave_id = parts.wave_id and whole.unit = parts.unit and whole.attribute = 'all'
    where parts.attribute <> 'all' and whole.size >= $m
    group by parts.wave_id, parts.unit, parts.attribute, whole.size
    having hidden between 1 and $m - 1
),
candidates as (
    select wave_id, unit, attribute, value, whole_size, hidden, kind, attribute as split
    from by_org
    union all
    select wave_id, unit, 'all', null, whole_size, hidden, kind, attribute
    from by_attribute
),
parts as (
    select candidates.wave_id, candidates.unit, candidates.split, candidates.value,
        part.unit as part_unit, part.attribute as part_attribute, part.value as part_value,
        part.size as part_size
    from candidates
    inner join ancestry as down on down.org_unit_id = candidates.unit and down.distance = 1
    inner join sizes as part
        on part.wave_id = candidates.wave_id and part.unit = down.org_unit
        and part.attribute = candidates.attribute
        and part.value is not distinct from candidates.value
    where candidates.kind = 0 and part.size >= $m
    union all
    select candidates.wave_id, candidates.unit, candidates.split, candidates.value,
        part.unit, part.attribute, part.value, part.size
    from candidates
    inner join sizes as part
        on part.wave_id = candidates.wave_id and part.unit = candidates.unit
        and part.attribute = candidates.split
    where candidates.kind = 1 and part.size >= $m
)
select candidates.wave_id, candidates.unit as org_unit_id, candidates.attribute,
    candidates.value as attribute_value, candidates.whole_size, candidates.hidden,
    dense_rank() over (
        partition by candidates.wave_id
        order by candidates.kind, candidates.unit, list_position($attributes, candidates.split),
            candidates.value nulls first
    ) as position,
    parts.part_unit, parts.part_attribute, parts.part_value, parts.part_size
from candidates
left join parts
    on parts.wave_id = candidates.wave_id and parts.unit = candidates.unit
    and parts.split = candidates.split and parts.value is not distinct from candidates.value
"""
# Every (containing, contained) pair of groups whose difference is small: a group and the same
# split of each unit above it, and a group and the all-respondents group of its unit and of each
# unit above it. Nearest containing group first, its own unit's whole last.
_CANDIDATE_PAIRS_SQL = """
with pairs as (
    select inner_group.wave_id, outer_group.unit as outer_unit,
        outer_group.attribute as outer_attribute, outer_group.value as outer_value,
        inner_group.unit, inner_group.attribute, inner_group.value,
        outer_group.size as outer_size, inner_group.size, up.distance, 0 as whole_of_unit
    from sizes as inner_group
    inner join ancestry as up on up.org_unit = inner_group.unit and up.distance > 0
    inner join sizes as outer_group
        on outer_group.wave_id = inner_group.wave_id and outer_group.unit = up.org_unit_id
        and outer_group.attribute = inner_group.attribute
        and outer_group.value is not distinct from inner_group.value
    where inner_group.size >= $m and outer_group.size - inner_group.size between 1 and $m - 1
    union all
    select inner_group.wave_id, outer_group.unit, outer_group.attribute, outer_group.value,
        inner_group.unit, inner_group.attribute, inner_group.value,
        outer_group.size, inner_group.size, up.distance, 1
    from sizes as inner_group
    inner join ancestry as up on up.org_unit = inner_group.unit
    inner join sizes as outer_group
        on outer_group.wave_id = inner_group.wave_id and outer_group.unit = up.org_unit_id
        and outer_group.attribute = 'all'
    where inner_group.attribute <> 'all' and inner_group.size >= $m
        and outer_group.size - inner_group.size between 1 and $m - 1
)
select wave_id, outer_unit, outer_attribute, outer_value, unit, attribute, value, outer_size, size
from pairs
order by wave_id, unit, list_position($attributes, attribute), value nulls first,
    case when distance = 0 then 1000000 else distance end, whole_of_unit
"""


def publish_survey_results(
    home: Path, project_dir: Path, min_group_size: int | None = None
) -> dict:
    """Compute, suppress and write the survey result tables into the warehouse.

    Cells, groups and flags are DuckDB tables under the night's memory bound, never frames:
    a million employees' groups held as frames took the process past 23 GB."""
    min_group_size = checked_min_group_size(min_group_size)
    manifest = json.loads((project_dir / "target" / "semantic_manifest.json").read_text())
    derived = [m for m in SURVEY_METRICS if m != "respondents"]
    components = sorted({c for m in derived for c in _inputs(manifest, m)} | {"respondents"})
    group_by = ["wave__wave_id", "wave__anonymity", "segment__org_unit"] + [
        f"segment__{a}" for a in ATTRIBUTES
    ]
    # MetricFlow plans the SQL in-process (no `mf` start-up per question); DuckDB runs it.
    planner = MetricSql(project_dir)
    cells_sql = planner.sql(components, group_by)
    driver_inputs = _inputs(manifest, DRIVER_METRIC)
    driver_group_by = [*group_by, "construct_score__construct"]
    driver_cells = planner.sql(driver_inputs, driver_group_by)
    planner.save()
    renames = {g: g.split("__", 1)[1] for g in driver_group_by}
    renames["wave__wave_id"], renames["wave__anonymity"] = "wave_id", "anonymity"
    with connect_warehouse(home / "warehouse.duckdb") as con, planned_for_metricflow(con):
        require_built_marts(con, home / "warehouse.duckdb")
        parent = _parents(con)
        con.register("ancestry", _ancestry(parent))
        # Invitations carry no wave anonymity of their own: take it from the wave's respondents.
        cell_columns = [
            "wave__wave_id as wave_id",
            "max(wave__anonymity) over (partition by wave__wave_id) as anonymity",
            *[f"{name} as {renames[name]}" for name in group_by[2:]],
            *[f"cast({name} as double) as {name}" for name in components],
        ]
        con.execute(
            f"create or replace temp table cells as select {', '.join(cell_columns)} "
            f"from ({cells_sql})"
        )
        con.execute(f"create or replace temp table groups as {_group_sums(components)}")
        con.execute("drop table cells")
        _create_flags(con, min_group_size)
        metrics = ", ".join(
            f"case when not flags.is_suppressed then ({_expression(manifest, m)}) end as {m}"
            for m in derived
        )
        con.execute("create schema if not exists survey")
        con.execute(
            f"""
            create or replace table {RESULTS_TABLE} as
            select groups.wave_id, groups.org_unit_id, groups.attribute, groups.attribute_value,
                case when not flags.is_suppressed then groups.respondents end as respondents,
                case when not flags.is_suppressed then groups.invited end as invited,
                {metrics}, flags.is_suppressed, flags.suppression_reason
            from groups
            left join flags
                on flags.wave_id = groups.wave_id and flags.org_unit_id = groups.org_unit_id
                and flags.attribute = groups.attribute
                and flags.attribute_value is not distinct from groups.attribute_value
            """
        )
        con.execute("drop table groups")
        # Five constructs x every group: the cells read, summed, scored and flagged in DuckDB
        # (at 100,000 employees 9.5 million groups from 1.6 GB of cells). One construct at a
        # time: all five in one aggregation held 9.5 million groups at once, the step's peak
        # (DuckDB at its bound beside the process).
        cell_columns = [f"{name} as {renames[name]}" for name in driver_group_by] + [
            f"cast({name} as double) as {name}" for name in driver_inputs
        ]
        con.execute(
            f"create temp table driver_cells as select {', '.join(cell_columns)} "
            f"from ({driver_cells})"
        )
        constructs = [
            row[0]
            for row in con.sql(
                "select distinct construct from driver_cells order by construct nulls last"
            ).fetchall()
        ]
        con.execute("create or replace temp table cells as select * from driver_cells limit 0")
        con.execute(f"create or replace table {DRIVERS_TABLE} as {_driver_rows(manifest)}")
        for construct in constructs:
            con.execute(
                "create or replace temp table cells as select * from driver_cells "
                "where construct is not distinct from $construct",
                {"construct": construct},
            )
            con.execute(f"insert into {DRIVERS_TABLE} {_driver_rows(manifest)}")
        con.execute("drop table cells")
        con.execute("drop table driver_cells")
        groups, suppressed = con.sql(
            f"select count(*), count(*) filter (where is_suppressed) from {RESULTS_TABLE}"
        ).fetchall()[0]
    return {"groups": groups, "suppressed": suppressed, "min_group_size": min_group_size}


def _driver_rows(manifest: dict) -> str:
    """The driver scores of every group of the table `cells`, flagged as its group is."""
    driver_inputs = _inputs(manifest, DRIVER_METRIC)
    groups_sql = _group_sums(driver_inputs, ("construct",))
    return f"""
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
    """


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
    with connect_warehouse(home / "warehouse.duckdb", read_only=True) as con:
        tables = {r[0] for r in con.sql(
            "select schema_name || '.' || table_name from duckdb_tables()").fetchall()}  # fmt: skip
        if table not in tables:
            raise KpiQueryError(f"no published survey results in {home}: run the pipeline")
        return con.sql(sql, params=[attribute, start, start, end, end]).pl()
