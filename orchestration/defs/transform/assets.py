"""The dbt project as Dagster assets; dbt tests arrive as asset checks."""

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from orchestration.dbt_manifest import ensure_manifest
from orchestration.defs.resources import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


ensure_manifest()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    op_tags={"peoplemart/warehouse-writer": "true"},
)
def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """dbt build: models and their tests, in dependency order."""
    invocation = dbt.cli(["build"], context=context, raise_on_error=False)
    try:
        yield from invocation.stream()
    finally:
        # A failing step must not leave dbt running: it holds the warehouse's write lock.
        if invocation.process.poll() is None:
            invocation.process.terminate()
            invocation.process.wait(timeout=120)
    if not invocation.is_successful():
        raise dg.Failure(
            description="dbt build failed; see the failed models and tests above",
            metadata={"dbt_log": dg.MetadataValue.path(str(invocation.target_path))},
        )
