"""The dbt project as Dagster assets; dbt tests arrive as asset checks."""

import json
from pathlib import Path

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
        failed = failed_nodes(invocation.target_path / "run_results.json")
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


def failed_nodes(run_results: Path) -> list[str]:
    if not run_results.exists():
        return []
    results = json.loads(run_results.read_text())["results"]
    return [r["unique_id"] for r in results if r["status"] in ("error", "fail")]
