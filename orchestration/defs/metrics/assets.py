"""What the metrics layer builds after the warehouse: the anonymity-checked survey results, the
KPI catalog and KPI tables, and the publication BI tools read (serving.duckdb, Parquet exports,
PostgreSQL), which waits for the quality gate."""

import json
from contextlib import contextmanager

import dagster as dg

from ingestion.retention import forget_pending_keys, hr_horizon, pending_keys
from metrics.catalog import CATALOG_TABLE, catalog_from_project
from metrics.dashboard import write_dashboard
from metrics.kpi_tables import (
    build_kpi_tables,
    freeze_closed_periods,
    frozen_periods_reused_before,
)
from metrics.publish import publish, remove_people_from_old_copies
from metrics.published import (
    MartsNotBuilt,
    connect_warehouse,
    published_tables,
    require_built_marts,
)
from metrics.survey import publish_survey_results
from orchestration.dbt_manifest import load_manifest
from orchestration.defs.resources import PeoplemartHome
from orchestration.project import DBT_PROJECT_DIR
from quality.gate import QualityGateFailed, require_passed_gate

# Every mart the semantic models read: the KPI tables wait for all of them.
MART_KEYS = [
    dg.AssetKey(["marts", node["name"]])
    for node in load_manifest()["nodes"].values()
    if node["resource_type"] == "model" and node["schema"] == "marts"
]

SURVEY_INPUTS = [
    dg.AssetKey(["survey_private", "fct_survey_respondents"]),
    dg.AssetKey(["survey_private", "fct_survey_construct_scores"]),
    dg.AssetKey(["marts", "fct_survey_invitations"]),
    dg.AssetKey(["marts", "dim_org_units"]),
]


@contextmanager
def not_retried(*errors: type[Exception]):
    """Errors the same warehouse raises again on every attempt: failed at once, not retried."""
    try:
        yield
    except errors as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None


@dg.asset(deps=SURVEY_INPUTS, group_name="metrics", op_tags={"peoplemart/warehouse-writer": "true"})
def survey_results(context: dg.AssetExecutionContext, peoplemart: PeoplemartHome):
    """Survey figures per wave, org unit (with its subtree) and HR attribute, anonymity applied."""
    with not_retried(MartsNotBuilt):
        summary = publish_survey_results(
            peoplemart.home_path,
            DBT_PROJECT_DIR,
            peoplemart.survey_min_group_size,
        )
    context.log.info(f"survey results: {summary}")
    return dg.MaterializeResult(metadata=summary)


@dg.asset(
    deps=[dg.AssetKey(["marts", "dim_segments"])],
    group_name="metrics",
    op_tags={"peoplemart/warehouse-writer": "true"},
)
def kpi_catalog(context: dg.AssetExecutionContext, peoplemart: PeoplemartHome):
    """The KPI catalog from the metric definitions this run computes with."""
    catalog = catalog_from_project(DBT_PROJECT_DIR)
    with peoplemart.connect() as con:
        con.execute("create schema if not exists kpi")
        con.register("catalog_frame", catalog)
        con.execute(f"create or replace table {CATALOG_TABLE} as select * from catalog_frame")
    context.log.info(f"kpi catalog: {catalog.height} metrics")
    return dg.MaterializeResult(metadata={"metrics": catalog.height})


@dg.asset(
    deps=[kpi_catalog, *MART_KEYS],
    group_name="metrics",
    op_tags={"peoplemart/warehouse-writer": "true"},
)
def kpi_tables(context: dg.AssetExecutionContext, peoplemart: PeoplemartHome):
    """Every metric at month, quarter and year grain by its dimensions, through MetricFlow."""
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "semantic_manifest.json").read_text())
    with peoplemart.connect() as con:
        with not_retried(MartsNotBuilt):
            require_built_marts(con, peoplemart.warehouse_path)
        catalog = con.sql(f"select * from {CATALOG_TABLE}").pl()
        since = frozen_periods_reused_before(con, manifest, catalog)
        summary = build_kpi_tables(con, DBT_PROJECT_DIR, manifest, catalog, since)
        horizon = hr_horizon(con, peoplemart.retention_policy())
        if horizon:
            frozen = freeze_closed_periods(con, horizon, manifest)
            context.log.info(f"kpi tables: periods before {frozen['frozen_before']} frozen")
    context.log.info(f"kpi tables: {summary}")
    return dg.MaterializeResult(
        metadata={
            "queries": summary["queries"],
            "seconds": summary["seconds"],
            # A night after the first leaves the frozen periods to the archive.
            "periods_computed_from": summary["computed_from"] or "every period",
            **summary["rows"],
        }
    )


@dg.asset(deps=[survey_results, kpi_catalog, kpi_tables, *MART_KEYS], group_name="publish")
def publication_candidate(peoplemart: PeoplemartHome):
    """What is about to be published, as it stands in the warehouse; the quality gate's checks
    run on it and block the publication when one fails."""
    with connect_warehouse(peoplemart.warehouse_path, read_only=True) as con:
        tables = published_tables(con)
    return dg.MaterializeResult(metadata={"tables": len(tables)})


@dg.asset(
    deps=[publication_candidate],
    group_name="publish",
    op_tags={"peoplemart/warehouse-writer": "true"},
)
def serving_publication(context: dg.AssetExecutionContext, peoplemart: PeoplemartHome):
    """serving.duckdb and Parquet exports, swapped in only after the quality gate passed."""
    with not_retried(QualityGateFailed):
        require_passed_gate(peoplemart.home_path, context.run_id)
    with peoplemart.postgres_dsn() as dsn:
        publication = publish(peoplemart.home_path, context.run_id, postgres_dsn=dsn)
        context.log.info(f"published {len(publication.tables)} tables to {publication.path}")
        # People retention removed from the warehouse leave the copies published before, too.
        keys = pending_keys(peoplemart.home_path)
        if keys:
            removed = remove_people_from_old_copies(peoplemart.home_path, keys, dsn)
            forget_pending_keys(peoplemart.home_path)
            context.log.info(f"retention: removed from earlier publications: {removed}")
    return dg.MaterializeResult(
        metadata={
            "tables": len(publication.tables),
            "rows": sum(publication.tables.values()),
            "path": dg.MetadataValue.path(str(publication.path)),
        }
    )


@dg.asset(deps=[serving_publication], group_name="publish")
def dashboard(context: dg.AssetExecutionContext, peoplemart: PeoplemartHome):
    """The self-contained HTML dashboard of the publication just swapped in."""
    path = write_dashboard(peoplemart.home_path)
    context.log.info(f"dashboard: {path}")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path))})
