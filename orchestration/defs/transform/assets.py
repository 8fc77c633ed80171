"""The dbt project as Dagster assets; dbt tests arrive as asset checks."""

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from orchestration.dbt_manifest import load_manifest
from orchestration.dbt_targets import (
    RUN_RESULTS,
    failed_nodes,
    keep_partial_parse,
    new_target_folder,
    resume_arguments,
)
from orchestration.defs.resources import DBT_PROJECT_DIR, PeoplemartHome

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


# dagster-dbt reads the manifest file itself: it must be current first.
load_manifest()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    op_tags={"peoplemart/warehouse-writer": "true"},
)
def warehouse_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, peoplemart: PeoplemartHome
):
    """dbt build: models and their tests, in dependency order."""
    target = new_target_folder(peoplemart.dbt_path, context.run_id)
    # A subset (launched from the UI) selects its tests indirectly, which resuming turns off.
    resume = (
        resume_arguments(peoplemart.dbt_path, context.run_id, target)
        if context.retry_number and not context.is_subset
        else []
    )
    if resume:
        context.log.info("resuming the build: what earlier attempts built is left as it is")
    invocation = dbt.cli(
        ["build", *resume], context=context, raise_on_error=False, target_path=target
    )
    try:
        yield from invocation.stream()
    finally:
        # A failing step must not leave dbt running: it holds the warehouse's write lock.
        if invocation.process.poll() is None:
            invocation.process.terminate()
            invocation.process.wait(timeout=120)
        keep_partial_parse(target, peoplemart.dbt_path)
    if not invocation.is_successful():
        failed = failed_nodes(invocation.target_path / RUN_RESULTS)
        crashed = [node for node in failed if not node.startswith(("test.", "unit_test."))]
        raise dg.Failure(
            description=(
                f"dbt build failed: {', '.join(crashed)} did not build"
                if crashed
                else f"dbt tests failed: {', '.join(failed)}"
            ),
            metadata={"dbt_log": dg.MetadataValue.path(str(invocation.target_path))},
            # A model that did not build is retried (memory, disk, a lock); a failed test is a
            # finding about the data, and the same data fails it again.
            allow_retries=bool(crashed) or not failed,
        )
