"""The dbt project as Dagster assets; dbt tests arrive as asset checks."""

import json
import os
import shutil
import uuid
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from orchestration.dbt_manifest import load_manifest
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
    invocation = dbt.cli(["build"], context=context, raise_on_error=False, target_path=target)
    try:
        yield from invocation.stream()
    finally:
        # A failing step must not leave dbt running: it holds the warehouse's write lock.
        if invocation.process.poll() is None:
            invocation.process.terminate()
            invocation.process.wait(timeout=120)
        keep_partial_parse(target, peoplemart.dbt_path)
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


# Target folders (logs, compiled SQL, run_results.json) of the latest dbt builds kept in the home.
KEPT_TARGETS = 10
PARTIAL_PARSE = "partial_parse.msgpack"


def new_target_folder(dbt_path: Path, run_id: str) -> Path:
    """A fresh dbt target folder in the home, holding the home's last partial-parse state.

    dbt reparses the whole project (6 s) when the profile differs from the last parse, and the
    profile names the warehouse path, so the state parsed for one home is useless to another:
    each home keeps its own. (dagster-dbt would otherwise copy the project's, parsed for the
    demo home, and leave a target folder per run in the project.)"""
    runs = dbt_path / "targets"
    runs.mkdir(parents=True, exist_ok=True)
    for old in sorted(runs.iterdir(), key=lambda p: p.stat().st_mtime)[: -KEPT_TARGETS + 1]:
        shutil.rmtree(old, ignore_errors=True)
    target = runs / f"{run_id}-{uuid.uuid4().hex[:8]}"
    target.mkdir()
    if (dbt_path / PARTIAL_PARSE).exists():
        shutil.copy(dbt_path / PARTIAL_PARSE, target / PARTIAL_PARSE)
    return target


def keep_partial_parse(target: Path, dbt_path: Path) -> None:
    """The state this build parsed becomes the home's; replaced whole, as a killed run may
    stop anywhere (dbt reparses from scratch when the state is unreadable anyway)."""
    parsed = target / PARTIAL_PARSE
    if parsed.exists():
        staged = dbt_path / f".{PARTIAL_PARSE}.{uuid.uuid4().hex[:8]}"
        shutil.copy(parsed, staged)
        os.replace(staged, dbt_path / PARTIAL_PARSE)


def failed_nodes(run_results: Path) -> list[str]:
    if not run_results.exists():
        return []
    results = json.loads(run_results.read_text())["results"]
    return [r["unique_id"] for r in results if r["status"] in ("error", "fail")]
