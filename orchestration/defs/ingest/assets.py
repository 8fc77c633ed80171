"""One raw asset per extract of the registry, materialised together by one ingestion step."""

import dagster as dg
from dagster_dbt import DbtCliResource

from ingestion.load import Loader, current_restricted_view
from ingestion.registry import EXTRACTS
from ingestion.retention import apply_retention, record_retention
from orchestration.dbt_targets import finish_parse_ahead, start_parse_ahead
from orchestration.defs.resources import PeoplemartHome

RESTRICTED_KEYS = {
    spec.key: dg.AssetKey(current_restricted_view(spec).split("."))
    for spec in EXTRACTS
    if any(c.restricted for c in spec.columns)
}


def _spec(spec) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=dg.AssetKey(list(spec.key)),
        group_name="raw",
        kinds={"duckdb", "polars"},
        owners=["team:data-engineering"],
        description=f"raw_{spec.source}.{spec.entity}: validated rows of every {spec.entity} "
        "delivery, pseudonymised, with lineage; rejects go to ingest.quarantine.",
    )


def _checks(spec) -> list[dg.AssetCheckSpec]:
    key = dg.AssetKey(list(spec.key))
    return [
        dg.AssetCheckSpec(
            "nothing_lost",
            asset=key,
            blocking=True,
            description="rows read = rows loaded + rows quarantined, per file",
        ),
        dg.AssetCheckSpec(
            "no_rejected_rows",
            asset=key,
            description="warns when rows or whole files went to quarantine",
        ),
    ]


@dg.multi_asset(
    specs=[_spec(s) for s in EXTRACTS]
    + [
        dg.AssetSpec(
            key=dg.AssetKey(["ingest", "current_deliveries"]),
            group_name="raw",
            kinds={"duckdb"},
            owners=["team:data-engineering"],
            description="Which delivery each source's current data comes from.",
        )
    ]
    + [
        dg.AssetSpec(
            key=key,
            group_name="raw",
            kinds={"duckdb"},
            owners=["team:data-engineering"],
            description="Restricted layer: exact birth dates, never published.",
        )
        for key in RESTRICTED_KEYS.values()
    ],
    check_specs=[check for s in EXTRACTS for check in _checks(s)],
    can_subset=False,
    op_tags={"peoplemart/warehouse-writer": "true"},
)
def raw_extracts(
    context: dg.AssetExecutionContext, peoplemart: PeoplemartHome, dbt: DbtCliResource
):
    """Load every new delivery under the landing folder into the raw layer."""
    # The dbt step's parse, done beside the load (orchestration/dbt_targets.py).
    parse = start_parse_ahead(dbt, peoplemart.dbt_path)
    try:
        with peoplemart.connect() as con:
            loader = Loader(con, peoplemart.pseudonymiser(), run_id=context.run_id)
            report = loader.load_landing(peoplemart.landing_path)
            # Every run, after loading: dbt then rebuilds every later layer without the people
            # removed, and the publication step removes them from the copies already published.
            retention = apply_retention(
                con, peoplemart.retention_policy(), context.run_id, peoplemart.home_path
            )
    finally:
        if not finish_parse_ahead(parse, peoplemart.dbt_path):
            context.log.info("dbt's parse ahead of the build failed: the build parses itself")
    retention_file = record_retention(peoplemart.home_path, context.run_id, retention)
    context.log.info(
        f"retention: {retention.people_removed} people past their window removed, "
        f"{sum(retention.rows_removed.values())} rows; report {retention_file}"
    )
    if retention.people_waiting_for_frozen_periods:
        context.log.warning(
            f"retention: {retention.people_waiting_for_frozen_periods} people are past their "
            "window but stay until this run's KPI tables have frozen the periods they count in; "
            "the next run removes them"
        )
    for result in report.files:
        if result.status == "rejected" or result.rows_quarantined:
            context.log.warning(
                result.message
                or (
                    f"{result.source}/{result.delivery_id}/{result.file_name}: "
                    f"{result.rows_quarantined} of {result.rows_read} rows quarantined"
                )
            )
    for spec in EXTRACTS:
        files = [f for f in report.files if (f.source, f.entity) == spec.key]
        read = sum(f.rows_read for f in files)
        loaded = sum(f.rows_loaded for f in files)
        quarantined = sum(f.rows_quarantined for f in files)
        key = dg.AssetKey(list(spec.key))
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "files": len(files),
                "rows_read": read,
                "rows_loaded": loaded,
                "rows_quarantined": quarantined,
                "files_rejected": sum(f.status == "rejected" for f in files),
            },
        )
        unbalanced = [
            f.file_name for f in files if f.rows_read != f.rows_loaded + f.rows_quarantined
        ]
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name="nothing_lost",
            passed=not unbalanced,
            metadata={"unbalanced_files": unbalanced},
        )
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name="no_rejected_rows",
            passed=quarantined == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"rows_quarantined": quarantined},
        )
    for key in [*RESTRICTED_KEYS.values(), dg.AssetKey(["ingest", "current_deliveries"])]:
        yield dg.MaterializeResult(asset_key=key)
