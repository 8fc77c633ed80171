"""What the metrics layer builds after the warehouse: the anonymity-checked survey results, the
KPI catalog, and the publication BI tools read (serving.duckdb, Parquet exports)."""

from pathlib import Path

import dagster as dg

from metrics.catalog import CATALOG_TABLE, catalog_from_project
from metrics.publish import publish
from metrics.survey import publish_survey_results
from orchestration.defs.resources import DBT_EXECUTABLE, DBT_PROJECT_DIR, PeoplemartHome

SURVEY_INPUTS = [
    dg.AssetKey(["survey_private", "fct_survey_respondents"]),
    dg.AssetKey(["survey_private", "fct_survey_construct_scores"]),
    dg.AssetKey(["marts", "fct_survey_invitations"]),
    dg.AssetKey(["marts", "dim_org_units"]),
]


@dg.asset(deps=SURVEY_INPUTS, group_name="metrics", op_tags={"peoplemart/warehouse-writer": "true"})
def survey_results(context: dg.AssetExecutionContext, peoplemart: PeoplemartHome):
    """Survey figures per wave, org unit (with its subtree) and HR attribute, anonymity applied."""
    summary = publish_survey_results(
        peoplemart.home_path,
        DBT_PROJECT_DIR,
        str(Path(DBT_EXECUTABLE).parent / "mf"),
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
    deps=[survey_results, kpi_catalog, dg.AssetKey(["marts", "dim_segments"])],
    group_name="publish",
    op_tags={"peoplemart/warehouse-writer": "true"},
)
def serving_publication(context: dg.AssetExecutionContext, peoplemart: PeoplemartHome):
    """serving.duckdb and Parquet exports, swapped in only after every step before passed."""
    publication = publish(peoplemart.home_path, context.run_id)
    context.log.info(f"published {len(publication.tables)} tables to {publication.path}")
    return dg.MaterializeResult(
        metadata={
            "tables": len(publication.tables),
            "rows": sum(publication.tables.values()),
            "path": dg.MetadataValue.path(str(publication.path)),
        }
    )
