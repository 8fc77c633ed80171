"""The dbt project as Dagster assets; dbt tests arrive as asset checks."""

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from metrics.published import start_publishable_anew
from orchestration.dbt_manifest import load_manifest
from orchestration.dbt_targets import (
    RUN_RESULTS,
    error_cause,
    failed_nodes,
    keep_partial_parse,
    new_target_folder,
    resume_arguments,
)
from orchestration.defs.resources import PeoplemartHome
from orchestration.project import DBT_PROJECT_DIR
from quality.suites import import_great_expectations

IMPORTED_AHEAD = "Great Expectations imported for the quality gate"

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
    elif not context.is_subset:
        start_publishable_anew(peoplemart.warehouse_path)
    invocation = dbt.cli(
        ["build", *resume], context=context, raise_on_error=False, target_path=target
    )
    try:
        _import_the_gates_library(context)
        yield from invocation.stream()
    finally:
        # A failing step must not leave dbt running: it holds the warehouse's write lock.
        if invocation.process.poll() is None:
            invocation.process.terminate()
            invocation.process.wait(timeout=120)
        keep_partial_parse(target, peoplemart.dbt_path)
    if not invocation.is_successful():
        errored, failed = failed_nodes(invocation.target_path / RUN_RESULTS)
        cause = error_cause(invocation.target_path / RUN_RESULTS)
        raise dg.Failure(
            description=(
                f"dbt build failed: {cause + ' in ' if cause else ''}"
                f"{', '.join(errored)} (did not complete)"
                if errored
                else f"dbt tests failed: {', '.join(failed)}"
            ),
            metadata={"dbt_log": dg.MetadataValue.path(str(invocation.target_path))},
            # Retried on an error (a killed dbt leaves no results: also retried), not on findings;
            # the retry resumes, so it redoes only what did not complete.
            allow_retries=bool(errored) or not failed,
        )


def _import_the_gates_library(context: dg.AssetExecutionContext) -> None:
    """dbt's start-up keeps one core busy for seconds (4 s at 100,000 employees) while this
    process only waits for its first event: the quality gate's library is imported now, not in
    the gate (`peoplemart run` runs every step in this process). In this thread: a second
    thread importing beside Dagster's can fail with Python's import deadlock error. Where each
    step has a process of its own (Dagster's default executor), it costs a core that was idle."""
    try:
        seconds = import_great_expectations()
    except Exception as error:
        # Not this step's failure: the gate imports it again and fails there, as it did before.
        context.log.warning(f"Great Expectations did not import ahead of the gate: {error}")
        return
    if seconds:
        context.log.info(f"{IMPORTED_AHEAD} while dbt started ({seconds:.1f} s)")
