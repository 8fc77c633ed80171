"""When the pipeline runs: nightly at 02:00 Amsterdam time, and whenever a delivery lands."""

import hashlib
from pathlib import Path

import dagster as dg

from ingestion.discovery import discover, sha256_of
from orchestration.defs.resources import crash_retry_policy_from_env, peoplemart_home_from_env

nightly_job = dg.define_asset_job(
    "nightly",
    selection=dg.AssetSelection.all(),
    tags={"peoplemart/warehouse-writer": "true"},
    description="Ingest new deliveries, build and test the warehouse.",
    op_retry_policy=crash_retry_policy_from_env(),
)

# Metrics, quality gate and publication again on the warehouse as it stands (after a fix, or to
# re-publish): no ingestion, no dbt build.
publish_job = dg.define_asset_job(
    "publish",
    selection=dg.AssetSelection.groups("metrics", "publish"),
    tags={"peoplemart/warehouse-writer": "true"},
    description="KPI tables, quality gate and publication from the current warehouse.",
    op_retry_policy=crash_retry_policy_from_env(),
)

# Ingestion and the dbt build with its tests, nothing published: for an organisation large enough
# to build the warehouse and publish (`publish` above) at different times, and for measuring the
# warehouse build alone at a million employees.
build_job = dg.define_asset_job(
    "build",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("metrics", "publish"),
    tags={"peoplemart/warehouse-writer": "true"},
    description="Ingest new deliveries, build and test the warehouse; publish nothing.",
    op_retry_policy=crash_retry_policy_from_env(),
)

nightly_schedule = dg.ScheduleDefinition(
    job=nightly_job,
    cron_schedule="0 2 * * *",
    execution_timezone="Europe/Amsterdam",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


@dg.sensor(
    job=nightly_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING
)
def new_delivery_sensor(context: dg.SensorEvaluationContext):
    """Request a run when the set of landed files changes (new bytes, not new names)."""
    landing = peoplemart_home_from_env().landing_path
    if not landing.is_dir():
        return dg.SkipReason(f"landing folder {landing} does not exist")
    deliveries, strays = discover(landing)
    files = sorted(str(p) for d in deliveries for p in d.files) + sorted(
        str(s.path) for s in strays
    )
    fingerprint = sha256_of_many(files)
    if fingerprint == context.cursor:
        return dg.SkipReason("no new deliveries")
    context.update_cursor(fingerprint)
    return dg.RunRequest(run_key=fingerprint)


def sha256_of_many(paths: list[str]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.encode())
        digest.update(sha256_of(Path(path)).encode())
    return digest.hexdigest()
