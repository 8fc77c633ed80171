"""The KPI catalog, generated from the governed metric definitions (MetricFlow's semantic
manifest), so it can never disagree with the numbers: name, Dutch name, definition, formula,
unit, grain, dimensions, owner and a version that changes whenever the definition does."""

import hashlib
import json
from pathlib import Path

import polars as pl

from metrics.query import DIMENSIONS, GRAINS

SEGMENT_DIMENSIONS = sorted(d for d, mf in DIMENSIONS.items() if mf.startswith("segment__"))
# Who answers for a metric, by the semantic model its numbers come from.
OWNER_BY_MODEL = {
    "finance_monthly": "finance",
    "fte_reconciliation": "shared",
    "formation": "shared",
}
SHARED_WHEN_MIXED = "shared"


def _unit(name: str) -> str:
    for suffix in ("_rolling_12m", *(f"_{g}" for g in GRAINS)):
        name = name.removesuffix(suffix)
    if name.endswith("_per_fte"):
        return "EUR per FTE"
    if name.endswith(("_rate", "_pct", "_share")) or name in ("enps",):
        return "percent" if name != "enps" else "score (-100..100)"
    if "fte" in name:
        return "FTE"
    if name in ("revenue", "personnel_cost", "other_cost"):
        return "EUR"
    if name.endswith(("_days", "_median", "_mean", "_avg")) or name == "verzuimduur_avg":
        return "days"
    if name.endswith("_years"):
        return "years"
    if name in ("human_capital_roi", "span_of_control", "meldingsfrequentie"):
        return "ratio"
    if name in ("engagement_index", "driver_score"):
        return "score (0-100)"
    return "count"


# Metrics whose time axis is not the calendar month.
GRAIN_BY_MODEL = {
    "formation": "year",
    "spp_supply_today": "as-of date",
    "spp_workforce_mix": "as-of date",
    "spp_supply_projection": "projection year",
    "spp_gap": "projection year",
    "survey_respondents": "wave",
    "survey_construct_scores": "wave",
    "survey_invitations": "wave",
}
SURVEY_DIMENSIONS = (
    "wave, org_unit (with its subtree), org_level_N; in confidential waves one of job_family, "
    "tenure_band, age_band, contract_type, manager; anonymity rules applied"
)


def _grain(name: str, used: list[str]) -> str:
    for grain in GRAINS:
        if name.endswith(f"_{grain}"):
            return grain
    special = {GRAIN_BY_MODEL[u] for u in used if u in GRAIN_BY_MODEL}
    return special.pop() if len(special) == 1 else "month, quarter, year"


def build_catalog(manifest: dict) -> pl.DataFrame:
    models = {}
    measures = {}
    for model in manifest["semantic_models"]:
        models[model["name"]] = model
        for measure in model["measures"]:
            measures[measure["name"]] = (model["name"], measure)
    rows = []
    for metric in sorted(manifest["metrics"], key=lambda m: m["name"]):
        params = metric["type_params"]
        used = sorted({measures[m["name"]][0] for m in params["input_measures"]})
        if metric["type"] == "derived":
            formula = f"{params['expr']}  [{', '.join(m['name'] for m in params['metrics'])}]"
        else:
            _, measure = measures[params["measure"]["name"]]
            formula = f"{measure['agg']}({measure.get('expr') or measure['name']})"
            if metric["type"] == "cumulative":
                window = params["cumulative_type_params"]["window"]
                formula += f" over {window['count']} {window['granularity']}s up to each period"
        if metric.get("filter"):
            formula += "  where " + "; ".join(
                f["where_sql_template"] for f in metric["filter"]["where_filters"]
            )
        restricted = [
            (models[u].get("config") or {}).get("meta", {}).get("segment_dimensions") for u in used
        ]
        dims = SEGMENT_DIMENSIONS
        for allowed in restricted:
            if allowed:
                dims = [d for d in dims if d in allowed or (d.startswith("org_level_") and
                                                              "org_unit" in allowed)]  # fmt: skip
        owners = {OWNER_BY_MODEL.get(u, "HR") for u in used}
        meta = (metric.get("config") or {}).get("meta") or {}
        definition = json.dumps(
            [metric["type"], params, metric.get("filter"),
             [measures[m["name"]][1] for m in params["input_measures"]]],
            sort_keys=True, default=str,
        )  # fmt: skip
        rows.append(
            {
                "name": metric["name"],
                "label": metric["label"],
                "dutch_name": meta.get("dutch_name"),
                "definition": metric.get("description") or metric["label"],
                "formula": formula,
                "unit": meta.get("unit") or _unit(metric["name"]),
                "grain": _grain(metric["name"], used),
                "dimensions": SURVEY_DIMENSIONS
                if any(u.startswith("survey_") for u in used)
                else ", ".join(dims),
                "owner": owners.pop() if len(owners) == 1 else SHARED_WHEN_MIXED,
                "semantic_models": ", ".join(used),
                "is_headline": bool(meta.get("dutch_name")),
                "version": hashlib.sha256(definition.encode()).hexdigest()[:12],
            }
        )
    return pl.DataFrame(rows)


def render_markdown(catalog: pl.DataFrame) -> str:
    lines = [
        "# KPI catalog",
        "",
        "Generated from the metric definitions (`dbt_project/models/semantic/`) by `make docs`;",
        "a test keeps it in sync. The same table is in the warehouse as `kpi.kpi_catalog`.",
        "Headline KPIs first; the rest are the building blocks they are computed from.",
        "",
        "| name | Dutch name | definition | formula | unit | owner | version |",
        "|---|---|---|---|---|---|---|",
    ]
    ordered = catalog.sort(["is_headline", "name"], descending=[True, False])
    for row in ordered.iter_rows(named=True):
        cells = [
            f"`{row['name']}`",
            row["dutch_name"] or "",
            row["definition"].replace("|", "/"),
            f"`{row['formula'].replace('|', '/')}`",
            row["unit"],
            row["owner"],
            row["version"],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def catalog_from_project(project_dir: Path) -> pl.DataFrame:
    manifest = json.loads((project_dir / "target" / "semantic_manifest.json").read_text())
    return build_catalog(manifest)


PROJECT_ROOT = Path(__file__).resolve().parents[1]
DOC_PATH = PROJECT_ROOT / "docs" / "kpi_catalog.md"
CATALOG_TABLE = "kpi.kpi_catalog"


def main() -> None:
    DOC_PATH.write_text(render_markdown(catalog_from_project(PROJECT_ROOT / "dbt_project")))
    print(f"wrote {DOC_PATH}")


if __name__ == "__main__":
    main()
