"""The KPI catalog is generated from the metric definitions and changes with them."""

import copy
import json

from metrics.catalog import DOC_PATH, PROJECT_ROOT, build_catalog, render_markdown

MANIFEST = PROJECT_ROOT / "dbt_project" / "target" / "semantic_manifest.json"


def manifest() -> dict:
    return json.loads(MANIFEST.read_text())


def test_every_metric_is_in_the_catalog_with_its_formula():
    catalog = build_catalog(manifest())
    assert set(catalog["name"]) == {m["name"] for m in manifest()["metrics"]}
    turnover = catalog.filter(catalog["name"] == "turnover_rate").row(0, named=True)
    assert turnover["dutch_name"] == "Verlooppercentage"
    assert turnover["formula"].startswith("leavers * 100.0 / nullif(average_headcount, 0)")
    assert turnover["unit"] == "percent" and turnover["owner"] == "HR"
    revenue = catalog.filter(catalog["name"] == "revenue_per_fte").row(0, named=True)
    assert revenue["owner"] == "shared" and "gender" not in revenue["dimensions"]


def test_headline_kpis_have_a_dutch_name():
    catalog = build_catalog(manifest())
    for name in ("verzuim_pct", "engagement_index", "revenue_per_fte", "gap_fte", "headcount"):
        assert catalog.filter(catalog["name"] == name)["dutch_name"][0], name


def test_the_version_changes_when_a_definition_changes():
    original = manifest()
    changed = copy.deepcopy(original)
    metric = next(m for m in changed["metrics"] if m["name"] == "turnover_rate")
    metric["type_params"]["expr"] = "leavers * 100.0 / nullif(average_fte, 0)"
    versions = {
        label: dict(zip(frame["name"], frame["version"], strict=True))
        for label, frame in (("before", build_catalog(original)), ("after", build_catalog(changed)))
    }
    assert versions["before"]["turnover_rate"] != versions["after"]["turnover_rate"]
    assert versions["before"]["headcount"] == versions["after"]["headcount"]


def test_the_published_catalog_page_is_rendered_from_the_definitions():
    assert DOC_PATH.read_text() == render_markdown(build_catalog(manifest())), (
        "run `make docs` and commit docs/kpi_catalog.md"
    )
