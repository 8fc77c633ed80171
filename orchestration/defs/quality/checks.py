"""The Great Expectations suites as blocking Dagster asset checks on the publication candidate:
the marts, survey results, KPI tables and catalog as they stand before they are copied out.

(Checks on each mart would be neater in the UI, but a blocking check on a dbt asset holds back
everything downstream of it, the KPI tables included, which the same suites read: a cycle.)"""

import json

import dagster as dg

from orchestration.dbt_manifest import load_manifest
from orchestration.dbt_targets import dbt_test_results
from orchestration.defs.metrics.assets import publication_candidate
from orchestration.defs.resources import PeoplemartHome
from quality.gate import report_dir, run_gate
from quality.suites import ERROR, build_suites

# The suites are known from the dbt manifest when the definitions load; the previous publication
# they compare volumes with is read when they run.
SUITES = build_suites(load_manifest(), previous_publication=None)


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            suite.name,
            asset=publication_candidate,
            description=suite.description,
            blocking=suite.severity == ERROR,
        )
        for suite in SUITES
    ],
    op_tags={"peoplemart/warehouse-writer": "true"},
)
def quality_gate(context: dg.AssetCheckExecutionContext, peoplemart: PeoplemartHome):
    """Run every suite on what is about to be published and write the run's quality report."""
    results, report = run_gate(
        peoplemart.home_path,
        context.run.run_id,
        load_manifest(),
        dbt_test_results(peoplemart.dbt_path, context.run.run_id),
    )
    context.log.info(f"quality report: {report}")
    for result in results:
        failed = [x for x in result.expectations if not x["success"]]
        yield dg.AssetCheckResult(
            asset_key=publication_candidate.key,
            check_name=result.suite,
            passed=result.passed,
            severity=dg.AssetCheckSeverity.ERROR
            if result.severity == ERROR
            else dg.AssetCheckSeverity.WARN,
            metadata={
                "table": result.asset,
                "rows_profiled": result.rows_checked,
                "failed_expectations": json.dumps(failed, default=str)[:4000],
                "report": dg.MetadataValue.path(
                    str(report_dir(peoplemart.home_path, context.run.run_id) / "index.html")
                ),
            },
        )
