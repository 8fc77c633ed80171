"""The quality gate: Great Expectations suites over the marts and the KPI tables.

Great Expectations' SQL datasource does not work on DuckDB, so every suite validates a DataFrame
read from DuckDB. For tables that may hold tens of millions of rows the frame is a profile the
database computes (row count, distinct keys, null keys, orphans), so the gate costs the same at a
million employees as at a thousand; the KPI tables are profiled per metric and dimension.

The grain, not-null and relationship rules are not written twice: they are read from the tests
the dbt project declares on each mart, and checked again here on exactly what is about to be
published (a row changed after dbt ran is caught too).
"""

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from ingestion.duckdb_memory import bounded_connect
from ingestion.retention import frozen_before, key_table
from metrics.published import connect_warehouse, published_tables
from quality.grain import GRAIN_BIT_ARGUMENTS, repeated_rows
from quality.identities import HEADCOUNT_FLOW_RESIDUALS

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

ERROR, WARN = "ERROR", "WARN"
# Rates that are shares of a whole: outside 0..100 they are wrong whatever the data. Event rates
# (leavers or internal moves per average head) can exceed 100 % in a tiny group: only >= 0.
EVENT_RATES = ("turnover_rate", "internal_mobility_rate")
# A share evaluated in floating point from summed parts can miss its bound by an ulp: all-flex
# FTE gave a flex share of 100.00000000000001 on a benchmark night. Far below any real excess.
PERCENT_ROUNDING = 1e-9
# Figures that can be negative by definition: differences, gaps, scores.
SIGNED = (
    "fte_difference",
    "reconciliation_fte_difference_sum",
    "formation_gap_fte",
    "gap_fte",
    # The change in the gap from one year to the next: negative when the gap closes.
    "hires_needed_fte",
    "human_capital_roi",
    "enps",
)
# A publication that shrinks this much against the previous one is held for a human to look at.
MIN_VOLUME_RATIO = float(os.environ.get("PEOPLEMART_MIN_VOLUME_RATIO", "0.5"))
# Payroll and HR totals must survive the reconciliation join to the last decimal shown.
TIE_OUT_TOLERANCE_FTE = 0.001


@dataclass(frozen=True)
class Suite:
    """One asset check: a frame read from DuckDB and what Great Expectations expects of it."""

    name: str
    asset: tuple[str, ...]
    description: str
    frame: Callable[[duckdb.DuckDBPyConnection], pd.DataFrame]
    expectations: Callable[[], list]
    severity: str = ERROR


@dataclass
class SuiteResult:
    suite: str
    asset: str
    description: str
    severity: str
    passed: bool
    rows_checked: int
    expectations: list[dict] = field(default_factory=list)


def _gx():
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx, gxe


def import_great_expectations() -> float:
    """Import Great Expectations ahead of the gate, for a caller with a core to spare: it takes
    2.6-2.9 s of one core. The seconds it took; 0 when it was imported already."""
    if "great_expectations.expectations" in sys.modules:
        return 0.0
    started = time.monotonic()
    _gx()
    return time.monotonic() - started


# --- rules declared in dbt ------------------------------------------------------------------


@dataclass
class TableContract:
    table: str
    # Each grain: its columns, and the column its dbt test counts as bits, if any, by argument.
    keys: list[tuple[list[str], dict[str, str]]] = field(default_factory=list)
    not_null: list[str] = field(default_factory=list)
    relationships: list[tuple[str, str, str]] = field(default_factory=list)


def contracts_from_dbt(manifest: dict, schema: str = "marts") -> dict[str, TableContract]:
    """Grain, not-null and relationship rules of every mart, from the dbt tests declared on it."""
    models = {
        node["unique_id"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == schema
        and node["config"].get("materialized") in ("table", "incremental")
    }  # fmt: skip
    contracts = {node["name"]: TableContract(node["name"]) for node in models.values()}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or not node.get("test_metadata"):
            continue
        attached = node.get("attached_node")
        if attached not in models:
            continue
        contract = contracts[models[attached]["name"]]
        kwargs = node["test_metadata"].get("kwargs", {})
        column = kwargs.get("column_name")
        kind = node["test_metadata"]["name"]
        if kind == "unique":
            contract.keys.append(([column], {}))
        elif kind == "unique_combination":
            bits = {name: kwargs[name] for name in GRAIN_BIT_ARGUMENTS if kwargs.get(name)}
            contract.keys.append((list(kwargs["combination"]), bits))
        elif kind == "not_null":
            contract.not_null.append(column)
        elif kind == "relationships":
            parent = next(
                (
                    manifest["nodes"][d]["name"]
                    for d in node["depends_on"]["nodes"]
                    if d != attached
                ),
                None,
            )
            if parent:
                contract.relationships.append((column, parent, kwargs["field"]))
    return {name: c for name, c in contracts.items() if c.keys or c.not_null or c.relationships}


def _contract_profile(contract: TableContract, schema: str):
    table = f'{schema}."{contract.table}"'

    def frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
        parts = ["count(*) as row_count"]
        for i, (key, bits) in enumerate(contract.keys):
            parts.append(f"count(*) - ({repeated_rows(table, key, **bits)}) as keys_{i}")
        for column in contract.not_null:
            parts.append(f'count(*) filter (where "{column}" is null) as nulls_{column}')
        for column, parent, parent_field in contract.relationships:
            parts.append(
                f'(select count(*) from {table} as child where child."{column}" is not null and '
                f'not exists (select 1 from {schema}."{parent}" as p '
                f'where p."{parent_field}" = child."{column}")) as orphans_{column}'
            )
        return con.sql(f"select {', '.join(parts)} from {table}").df()

    def expectations() -> list:
        _, gxe = _gx()
        rules = []
        for i, _key in enumerate(contract.keys):
            rules.append(
                gxe.ExpectColumnPairValuesToBeEqual(column_A="row_count", column_B=f"keys_{i}")
            )
        for column in contract.not_null:
            rules.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=f"nulls_{column}", min_value=0, max_value=0
                )
            )
        for column, _parent, _field in contract.relationships:
            rules.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=f"orphans_{column}", min_value=0, max_value=0
                )
            )
        return rules

    return frame, expectations


# --- KPI tables --------------------------------------------------------------------------------


def _kpi_profile(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    tables = [
        t[0]
        for t in con.sql(
            "select table_name from duckdb_tables() where schema_name = 'kpi' "
            "and table_name like 'metrics_%'"
        ).fetchall()
    ]
    if not tables:
        return pd.DataFrame(columns=["grain", "metric", "unit", "min_value", "max_value"])
    union = " union all ".join(
        f"select '{t.removeprefix('metrics_')}' as grain, cast(metric as varchar) as metric, "
        f"value from kpi.{t}"
        for t in tables
    )
    return con.sql(
        f"select kpi.grain, kpi.metric, catalog.unit, min(kpi.value) as min_value, "
        f"max(kpi.value) as max_value from ({union}) as kpi "
        f"join kpi.kpi_catalog as catalog on catalog.name = kpi.metric group by all"
    ).df()


def _percent_rows(frame: pd.DataFrame) -> pd.DataFrame:
    shares = frame[(frame.unit == "percent") & ~frame.metric.str.contains("|".join(EVENT_RATES))]
    return shares.reset_index(drop=True)


def _unsigned_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[~frame.metric.isin(SIGNED)].reset_index(drop=True)


def _headline_totals(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The organisation's figures of its last three years, for plausibility (warnings, not a gate).
    Only recent years: the early history of a new installation holds only the people of its first
    snapshot, with no absences recorded for them yet."""
    return con.sql(
        "select * from ("
        "select period_start, "
        "max(value) filter (where metric = 'verzuim_pct') as verzuim_pct, "
        "max(value) filter (where metric = 'turnover_rate') as turnover_rate, "
        "max(value) filter (where metric = 'average_fte') "
        "  / nullif(max(value) filter (where metric = 'average_headcount'), 0) as fte_per_head "
        "from kpi.metrics_year where dimension = 'total' group by all "
        "having max(value) filter (where metric = 'average_headcount') > 0"
        ") order by period_start desc limit 3"
    ).df()


# --- identities and reconciliation ---------------------------------------------------------


def _reconciliation_tie_out(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per month: FTE on each side of the reconciliation against its source. A cost center lost
    or counted twice in the full outer join shows here as a difference. Frozen months are left
    out: their published FTE keeps people retention has since removed from the marts."""
    open_from = frozen_before(con) or dt.date.min
    return con.sql(
        """
        with reconciled as (
            select month_start_date, sum(hr_average_fte) as hr_fte,
                   sum(payroll_paid_fte) as payroll_fte
            from marts.fct_fte_reconciliation_monthly group by all
        ),
        workforce as (
            select period_start as month_start_date, value as hr_fte
            from kpi.metrics_month where metric = 'average_fte' and dimension = 'total'
        ),
        payroll as (
            select cast(strptime(period, '%Y-%m') as date) as month_start_date,
                   sum(paid_fte) as payroll_fte
            from current_finance.payroll group by all
        )
        select reconciled.month_start_date,
               abs(coalesce(reconciled.hr_fte, 0) - coalesce(workforce.hr_fte, 0)) as hr_difference,
               abs(coalesce(reconciled.payroll_fte, 0) - coalesce(payroll.payroll_fte, 0))
                   as payroll_difference
        from reconciled
        left join workforce using (month_start_date)
        left join payroll using (month_start_date)
        where reconciled.month_start_date >= $open_from
        """,
        params={"open_from": open_from},
    ).df()


def _volumes(previous: Path | None, removed_keys: list[str], unchecked: set[str]):
    """Rows per published table against the previous publication, less the rows of the people
    retention removed since (ingestion/retention.py): that shrinkage is intended. Tables whose
    models say `volume_checked: false` (lists of findings) are left out."""

    def frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
        names = [name for name in _qualified(published_tables(con)) if name not in unchecked]
        current = pd.DataFrame({"table_name": names})
        current["row_count"] = [
            con.sql(f"select count(*) from {name}").fetchall()[0][0] for name in current.table_name
        ]
        if previous is None or not previous.exists():
            current["previous_rows"] = pd.NA
            current["ratio"] = 1.0
            return current
        with bounded_connect(previous, read_only=True) as old:
            key_table(old, "removed", removed_keys)
            before = {}
            for name in _qualified(published_tables(old)):
                columns = {c[0] for c in old.sql(f"select * from {name} limit 0").description}
                kept = (
                    "where employee_key is null or employee_key not in (select key from removed)"
                    if "employee_key" in columns
                    else ""
                )
                before[name] = old.sql(f"select count(*) from {name} {kept}").fetchall()[0][0]
        current["previous_rows"] = current.table_name.map(before)
        # A table that was empty or new has nothing to shrink from.
        current["ratio"] = [
            1.0 if pd.isna(p) or p == 0 else rows / p
            for rows, p in zip(current.row_count, current.previous_rows, strict=True)
        ]
        return current

    return frame


def _volume_unchecked(dbt_manifest: dict) -> set[str]:
    return set(
        _qualified([
            (node["schema"], node.get("alias") or node["name"])
            for node in dbt_manifest["nodes"].values()
            if node["resource_type"] == "model"
            and (node.get("config") or {}).get("meta", {}).get("volume_checked") is False
        ])
    )  # fmt: skip


def _qualified(tables: list[tuple[str, str]]) -> list[str]:
    return [f'{schema}."{table}"' for schema, table in tables]


def build_suites(
    dbt_manifest: dict, previous_publication: Path | None, removed_keys: list[str] = ()
) -> list[Suite]:
    # Great Expectations is imported when a suite runs, not when the checks are declared: every
    # `peoplemart` command loads the definitions, and the import costs seconds.
    suites = []
    for name, contract in sorted(contracts_from_dbt(dbt_manifest).items()):
        frame, expectations = _contract_profile(contract, "marts")
        suites.append(
            Suite(
                name=f"gx_{name}_grain_and_references",
                asset=("marts", name),
                description=f"marts.{name}: grain unique, keys not null, references resolve",
                frame=frame,
                expectations=expectations,
            )
        )
    suites += [
        Suite(
            name="gx_rates_within_0_100",
            asset=("kpi_tables",),
            description="Every share (verzuim %, retention, compliance, ...) lies within 0..100 "
            "at every grain and split",
            frame=lambda con: _percent_rows(_kpi_profile(con)),
            expectations=lambda: [
                _gx()[1].ExpectColumnValuesToBeBetween(
                    column="min_value", min_value=-PERCENT_ROUNDING
                ),
                _gx()[1].ExpectColumnValuesToBeBetween(
                    column="max_value", max_value=100 + PERCENT_ROUNDING
                ),
            ],
        ),
        Suite(
            name="gx_counts_not_negative",
            asset=("kpi_tables",),
            description="Counts, FTE, days and money are never negative (differences and gaps "
            "excepted)",
            frame=lambda con: _unsigned_rows(_kpi_profile(con)),
            expectations=lambda: [
                _gx()[1].ExpectColumnValuesToBeBetween(column="min_value", min_value=0)
            ],
        ),
        Suite(
            name="gx_headline_plausible",
            asset=("kpi_tables",),
            description="The last three years' organisation figures in a plausible range: verzuim "
            "0.5-15 %, turnover 1-60 %, FTE per head 0.3-1.2 (a warning, not a gate)",
            frame=_headline_totals,
            expectations=lambda: [
                _gx()[1].ExpectColumnValuesToBeBetween(
                    column="verzuim_pct", min_value=0.5, max_value=15, mostly=0.8
                ),
                _gx()[1].ExpectColumnValuesToBeBetween(
                    column="turnover_rate", min_value=1, max_value=60, mostly=0.8
                ),
                _gx()[1].ExpectColumnValuesToBeBetween(
                    column="fte_per_head", min_value=0.3, max_value=1.2
                ),
            ],
            severity=WARN,
        ),
        Suite(
            name="gx_headcount_flow_identity",
            asset=("marts", "fct_workforce_monthly"),
            description="Per org unit and month: end = start + hires + transfers in - leavers - "
            "transfers out",
            frame=lambda con: con.sql(HEADCOUNT_FLOW_RESIDUALS).df(),
            expectations=lambda: [
                _gx()[1].ExpectColumnValuesToBeBetween(column="residual", min_value=0, max_value=0)
            ],
        ),
        Suite(
            name="gx_reconciliation_ties_out",
            asset=("marts", "fct_fte_reconciliation_monthly"),
            description="Per month the reconciliation's HR FTE equals the workforce average FTE "
            "and its payroll FTE equals the payroll delivery",
            frame=_reconciliation_tie_out,
            expectations=lambda: [
                _gx()[1].ExpectColumnValuesToBeBetween(
                    column="hr_difference", max_value=TIE_OUT_TOLERANCE_FTE
                ),
                _gx()[1].ExpectColumnValuesToBeBetween(
                    column="payroll_difference", max_value=TIE_OUT_TOLERANCE_FTE
                ),
            ],
        ),
        Suite(
            name="gx_volumes_against_previous_run",
            asset=("kpi_tables",),
            description=f"No published table shrinks below {MIN_VOLUME_RATIO:.0%} of its rows in "
            "the previous publication",
            frame=_volumes(
                previous_publication, list(removed_keys), _volume_unchecked(dbt_manifest)
            ),
            expectations=lambda: [
                _gx()[1].ExpectColumnValuesToBeBetween(column="ratio", min_value=MIN_VOLUME_RATIO)
            ],
        ),
    ]
    return suites


def run_suites(suites: list[Suite], warehouse: Path) -> list[SuiteResult]:
    """Validate every suite on frames read from the warehouse (read-only)."""
    gx, _ = _gx()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = gx.data_context.types.base.ProgressBarsConfig(globally=False)
    batches = context.data_sources.add_pandas("warehouse")
    results = []
    with connect_warehouse(warehouse, read_only=True) as con:
        for index, suite in enumerate(suites):
            frame = suite.frame(con)
            asset = batches.add_dataframe_asset(f"frame_{index}")
            definition = asset.add_batch_definition_whole_dataframe("whole")
            expectation_suite = gx.ExpectationSuite(name=f"{'.'.join(suite.asset)}.{suite.name}")
            for expectation in suite.expectations():
                expectation_suite.add_expectation(expectation)
            validation = definition.get_batch(batch_parameters={"dataframe": frame}).validate(
                expectation_suite
            )
            results.append(
                SuiteResult(
                    suite=suite.name,
                    asset="/".join(suite.asset),
                    description=suite.description,
                    severity=suite.severity,
                    passed=bool(validation.success),
                    rows_checked=len(frame),
                    expectations=[_expectation_summary(r) for r in validation.results],
                )
            )
    return results


def _expectation_summary(result) -> dict:
    config = result.expectation_config
    details = result.result or {}
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id",)}
    return {
        "expectation": config.type,
        "kwargs": json.loads(json.dumps(kwargs, default=str)),
        "success": bool(result.success),
        "unexpected_count": details.get("unexpected_count"),
        "unexpected_examples": json.loads(
            json.dumps(details.get("partial_unexpected_list", [])[:10], default=str)
        ),
        "observed_value": json.loads(json.dumps(details.get("observed_value"), default=str)),
    }
