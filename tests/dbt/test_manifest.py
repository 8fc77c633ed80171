"""Naming, documentation and primary-key rules of the dbt project, checked from its manifest."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ingestion.registry import EXTRACTS

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
DBT = str(Path(sys.executable).parent / "dbt")
STAGING_NAME = re.compile(
    r"^stg_(hris|survey|finance|finance_history|planning|restricted|ingest)__[a-z_]+s$"
)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    target = tmp_path_factory.mktemp("dbt-target")
    env = {**os.environ, "DO_NOT_TRACK": "1", "PEOPLEMART_HOME": str(target)}
    subprocess.run(
        [DBT, "parse", "--profiles-dir", ".", "--target-path", str(target), "--quiet"],
        cwd=DBT_PROJECT,
        env=env,
        check=True,
    )
    return json.loads((target / "manifest.json").read_text())


def models(manifest: dict) -> list[dict]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]


def checks_on(manifest: dict, model_id: str) -> list[dict]:
    return [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test" and model_id in n["depends_on"]["nodes"]
    ]


def test_staging_models_are_named_stg_source__entities(manifest):
    staging = [m for m in models(manifest) if "staging" in m["fqn"]]
    assert staging
    bad = [m["name"] for m in staging if not STAGING_NAME.match(m["name"])]
    assert bad == []


def test_every_model_and_source_is_documented(manifest):
    undocumented = [m["name"] for m in models(manifest) if not m["description"].strip()]
    undocumented += [
        s["name"] for s in manifest["sources"].values() if not s["description"].strip()
    ]
    assert undocumented == []


def _has_primary_key_test(manifest: dict, model: dict) -> bool:
    tests = checks_on(manifest, model["unique_id"])
    kinds = [(t.get("test_metadata", {}).get("name"), t.get("column_name")) for t in tests]
    unique = {column for kind, column in kinds if kind == "unique"}
    not_null = {column for kind, column in kinds if kind == "not_null"}
    return any(kind == "unique_combination" for kind, _ in kinds) or bool(unique & not_null)


def test_every_model_has_a_primary_key_test(manifest):
    """Or names, in `meta.grain_tested_on`, the model next to it whose key test finds a repeated
    key of its own: a parent it only joins to one row each, or a child that carries each of its
    rows once. That model must be a direct parent or child and have a key test itself."""
    by_name = {m["name"]: m for m in models(manifest)}
    missing = []
    for model in models(manifest):
        tested_on = (model["config"].get("meta") or {}).get("grain_tested_on")
        if tested_on:
            other = by_name.get(tested_on)
            adjacent = other is not None and (
                other["unique_id"] in model["depends_on"]["nodes"]
                or model["unique_id"] in other["depends_on"]["nodes"]
            )
            if not adjacent or not _has_primary_key_test(manifest, other):
                missing.append(f"{model['name']} (grain_tested_on {tested_on})")
        elif not _has_primary_key_test(manifest, model):
            missing.append(model["name"])
    assert missing == []


def test_every_extract_is_a_source_with_a_staging_model(manifest):
    sources = {(s["source_name"], s["name"]): s["unique_id"] for s in manifest["sources"].values()}
    for spec in EXTRACTS:
        assert spec.key in sources, spec.key
        dependants = [m for m in models(manifest) if sources[spec.key] in m["depends_on"]["nodes"]]
        assert len(dependants) == 1 and dependants[0]["name"].startswith("stg_"), spec.key


def test_staging_reads_only_sources(manifest):
    for model in models(manifest):
        if "staging" in model["fqn"]:
            assert all(n.startswith("source.") for n in model["depends_on"]["nodes"]), model["name"]


def test_usage_statistics_are_off():
    assert "send_anonymous_usage_stats: false" in (DBT_PROJECT / "dbt_project.yml").read_text()
