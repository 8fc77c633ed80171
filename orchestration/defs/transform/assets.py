"""The dbt project as Dagster assets; dbt tests arrive as asset checks."""

import subprocess

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from orchestration.defs.resources import DBT_EXECUTABLE, DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def _manifest_is_stale() -> bool:
    """A manifest older than any project file would describe models that no longer exist."""
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "seeds", "tests"):
        sources += [p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file()]
    return any(p.stat().st_mtime > built for p in sources)


if _manifest_is_stale():
    subprocess.run(
        [DBT_EXECUTABLE, "parse", "--profiles-dir", str(DBT_PROJECT_DIR), "--quiet"],
        cwd=DBT_PROJECT_DIR,
        check=True,
    )


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
