"""The bundled dashboard: one self-contained HTML file per publication, read from the published
KPI tables (serving.duckdb), so it shows exactly the numbers BI tools see.

Data, styles and script are inside the file and its Content-Security-Policy forbids every
request: it opens from a file share or an e-mail attachment, offline, with no server. Filters
(grain, period, org unit) re-render the charts and tables in the page. A section appears only
when its mart has published figures (no survey delivered yet: no engagement section).
"""

import html
import json
import os
from pathlib import Path

import duckdb

from ingestion.duckdb_memory import bounded_connect
from metrics.kpi_tables import GRAINS, TOTAL, table_name
from metrics.publish import prune_per_run

DASHBOARD = "dashboard.html"
RUN_DASHBOARDS = "dashboards"
# Org units down to this level are offered in the filter (deeper teams: a BI tool's job), and no
# deeper than the last level at which the filter offers at most MAX_FILTER_UNITS units: each
# offered unit carries its series of every metric and grain in the page. At 100,000 employees
# the 1,442 units down to level 3 make a 46 MB page; a million employees' 14,299 would make one
# of about 460 MB, which a browser parses for half a minute or not at all.
MAX_FILTER_LEVEL = 3
MAX_FILTER_UNITS = 2_000
# (section id, title, metrics shown, unit)
SECTIONS = [
    ("workforce", "Headcount and FTE", ["headcount", "average_headcount", "average_fte"], ""),
    ("turnover", "Turnover (verloop)", ["turnover_rate", "voluntary_turnover_rate"], "%"),
    ("absence", "Absence (verzuim)", ["verzuim_pct", "meldingsfrequentie"], ""),
    ("productivity", "Productivity", ["revenue_per_fte", "personnel_cost_per_fte"], "EUR"),
    ("reconciliation", "HR-finance reconciliation",
     ["reconciliation_mismatches", "reconciliation_months", "fte_difference"], ""),
]  # fmt: skip
ENGAGEMENT_FIELDS = ["engagement_index", "engaged_share", "enps", "response_rate", "respondents"]
SPP_METRICS = ["demand_fte", "gap_fte", "hires_needed_fte"]


def filter_level(con: duckdb.DuckDBPyConnection) -> int:
    """The deepest org level the unit filter offers (at least the top)."""
    units_down_to = con.execute(
        "select org_level, sum(count(*)) over (order by org_level) from marts.dim_org_units "
        "where org_level <= ? group by org_level order by org_level",
        [MAX_FILTER_LEVEL],
    ).fetchall()
    offered = [level for level, units in units_down_to if units <= MAX_FILTER_UNITS]
    return max(offered, default=1)


def _kpi_series(con: duckdb.DuckDBPyConnection, metrics: list[str], deepest: int) -> dict:
    """{grain: {"periods": [period, ...], "series": {metric: JSON text}}} for the whole
    organisation (unit "") and the org units down to level `deepest`. A metric's JSON maps each
    unit to its span of periods: [position of its first period, value, value, ...], one value per
    period up to its last, null where the published row has no value and false where there is no
    row. Periods and units are named once, not on every value: at 100,000 employees the page was
    119 MB as [period, unit, value] rows. DuckDB writes the JSON: these are two million values,
    which Python took seconds to fetch and serialise."""
    levels = [f"org_level_{n}" for n in range(1, deepest + 1)]
    data: dict = {}
    for grain in GRAINS:
        con.execute(
            "create or replace temp table dashboard_values as "
            "select metric, coalesce(member, '') as unit, "
            "strftime(period_start, '%Y-%m-%d') as period, value "
            f"from {table_name(grain)} where metric in (select unnest(?::varchar[])) "
            f"and (dimension = '{TOTAL}' "
            "or (dimension in (select unnest(?::varchar[])) and member is not null))",
            [metrics, levels],
        )
        periods = [
            row[0]
            for row in con.sql(
                "select distinct period from dashboard_values order by period"
            ).fetchall()
        ]
        rows = con.execute(_SPANS_SQL).fetchall()
        data[grain] = {"periods": periods, "series": dict(rows)}
    con.execute("drop table if exists dashboard_values")
    return data


_SPANS_SQL = """
with positioned as (
    select dashboard_values.*, periods.position
    from dashboard_values
    inner join (
        select period, cast(row_number() over (order by period) - 1 as integer) as position
        from (select distinct period from dashboard_values)
    ) as periods using (period)
),
spans as (
    select metric, unit, min(position) as first_position,
        unnest(range(min(position), max(position) + 1)) as position
    from positioned
    group by metric, unit
),
filled as (
    select spans.metric, spans.unit, spans.first_position, spans.position,
        case
            when positioned.position is null then 'false'
            when positioned.value is null then 'null'
            else cast(to_json(positioned.value) as varchar)
        end as value_json
    from spans
    left join positioned
        on positioned.metric = spans.metric and positioned.unit = spans.unit
        and positioned.position = spans.position
),
per_unit as (
    select metric, unit,
        '[' || any_value(first_position) || ','
            || string_agg(value_json, ',' order by position) || ']' as span
    from filled
    group by metric, unit
)
select metric, '{' || string_agg(cast(to_json(unit) as varchar) || ':' || span, ','
    order by unit) || '}'
from per_unit
group by metric
order by metric
"""


def _kpis_json(kpis: dict) -> str:
    grains = []
    for grain, per_grain in kpis.items():
        series = ",".join(
            f"{json.dumps(metric)}:{spans}" for metric, spans in per_grain["series"].items()
        )
        periods = json.dumps(per_grain["periods"], separators=(",", ":"))
        grains.append(f'{json.dumps(grain)}:{{"periods":{periods},"series":{{{series}}}}}')
    return "{" + ",".join(grains) + "}"


def _units(con: duckdb.DuckDBPyConnection, deepest: int) -> list[list]:
    return [
        list(row)
        for row in con.execute(
            "select org_unit_id, org_unit_name, org_level from marts.dim_org_units "
            "where org_level <= ? order by org_level_1_id, org_level_2_id nulls first, "
            "org_level_3_id nulls first, org_unit_id",
            [deepest],
        ).fetchall()
    ]


def _engagement(con: duckdb.DuckDBPyConnection, deepest: int) -> list[dict]:
    """The survey figures of the units the filter offers (the page shows no others)."""
    present = con.sql(
        "select count(*) from duckdb_tables() where schema_name = 'survey' "
        "and table_name = 'engagement_results'"
    ).fetchall()[0][0]
    if not present:
        return []
    fields = ", ".join(ENGAGEMENT_FIELDS)
    rows = con.execute(
        f"select wave_id, org_unit_id, is_suppressed, {fields} from survey.engagement_results "
        "where attribute = 'all' and org_unit_id in "
        "(select org_unit_id from marts.dim_org_units where org_level <= ?) "
        "order by wave_id, org_unit_id",
        [deepest],
    )
    columns = [c[0] for c in rows.description]
    return [dict(zip(columns, r, strict=True)) for r in rows.fetchall()]


def _spp(con: duckdb.DuckDBPyConnection) -> list[list]:
    return [
        list(r)
        for r in con.execute(
            f"select metric, member, strftime(period_start, '%Y'), value "
            f"from {table_name('year')} where dimension = 'scenario' "
            "and metric in (select unnest(?::varchar[])) order by member, period_start, metric",
            [SPP_METRICS],
        ).fetchall()
    ]


def build_payload(serving: Path) -> dict:
    with bounded_connect(serving, read_only=True) as con:
        run_id = con.sql("select any_value(run_id) from kpi.kpi_catalog").fetchall()[0][0]
        labels = dict(
            con.sql("select name, coalesce(dutch_name, label) from kpi.kpi_catalog").fetchall()
        )
        wanted = sorted({m for _, _, metrics, _ in SECTIONS for m in metrics})
        deepest = filter_level(con)
        kpis = _kpi_series(con, wanted, deepest)
        sections = [
            {
                "id": sid,
                "title": title,
                "metrics": [m for m in metrics if m in kpis["month"]["series"]],
            }
            for sid, title, metrics, _ in SECTIONS
        ]
        return {
            "run_id": run_id,
            "labels": labels,
            "units": _units(con, deepest),
            "kpis": kpis,
            "sections": [s for s in sections if s["metrics"]],
            "engagement": _engagement(con, deepest),
            "spp": _spp(con),
        }


def write_dashboard(home: Path) -> Path:
    """Render the dashboard of the current publication; keep a copy per run, for the last
    two runs."""
    payload = build_payload(home / "serving.duckdb")
    page = render(payload)
    per_run = home / RUN_DASHBOARDS / f"{payload['run_id']}.html"
    per_run.parent.mkdir(parents=True, exist_ok=True)
    per_run.write_text(page, encoding="utf-8")
    prune_per_run(list(per_run.parent.glob("*.html")), keep=per_run)
    staged = home / (DASHBOARD + ".next")
    staged.write_text(page, encoding="utf-8")
    os.replace(staged, home / DASHBOARD)
    return home / DASHBOARD


# Where the KPI rows, JSON already, go into the page's JSON.
KPIS_PLACEHOLDER = "__peoplemart_kpis__"


def render(payload: dict) -> str:
    # "</" inside the JSON would end the script element early.
    rest = {**payload, "kpis": KPIS_PLACEHOLDER}
    data = json.dumps(rest, default=str, separators=(",", ":"))
    data = data.replace(json.dumps(KPIS_PLACEHOLDER), _kpis_json(payload["kpis"]), 1)
    data = data.replace("</", "<\\/")
    title = f"peoplemart — people KPIs (run {html.escape(str(payload['run_id']))})"
    return TEMPLATE.replace("__TITLE__", title).replace("__DATA__", data)


TEMPLATE = """<!doctype html>
<html lang="nl"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2937;background:#f9fafb}
header{background:#1e3a5f;color:#fff;padding:1rem 2rem}header h1{margin:0;font-size:1.3rem}
header small{opacity:.8}.filters{display:flex;gap:1rem;flex-wrap:wrap;padding:1rem 2rem;background:#fff;
border-bottom:1px solid #e5e7eb}label{font-size:.85rem}select{margin-left:.3rem;padding:.2rem}
main{padding:1rem 2rem}section{background:#fff;border:1px solid #e5e7eb;border-radius:.5rem;
padding:1rem;margin-bottom:1rem}h2{font-size:1.1rem;margin:.2rem 0 .8rem}
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin-bottom:.8rem}.card{border:1px solid #e5e7eb;
border-radius:.4rem;padding:.5rem .8rem;min-width:9rem}.card b{display:block;font-size:1.4rem}
.card span{font-size:.8rem;color:#4b5563}table{border-collapse:collapse;font-size:.85rem;margin-top:.6rem}
th,td{border:1px solid #e5e7eb;padding:.25rem .5rem;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f3f4f6}.scroll{max-height:18rem;overflow:auto}svg{width:100%;max-width:56rem;height:12rem}
.suppressed{color:#9ca3af;font-style:italic}.empty{color:#6b7280}
</style></head>
<body>
<header><h1>peoplemart — people KPIs</h1><small id="run"></small></header>
<div class="filters">
<label>Grain<select id="grain"><option value="month">month</option>
<option value="quarter">quarter</option><option value="year" selected>year</option></select></label>
<label>From<select id="from"></select></label><label>To<select id="to"></select></label>
<label>Org unit<select id="unit"></select></label>
</div>
<main id="main"></main>
<script type="application/json" id="data">__DATA__</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const $ = (id) => document.getElementById(id);
const COLORS = ["#1e3a5f", "#c2410c", "#047857", "#7c3aed"];
function fmt(v) {
  if (v === null || v === undefined) return "–";
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
}
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function periods(grain) {
  return D.kpis[grain].periods;
}
// A unit's span: [position of its first period, value, ...]; false marks a period without a row.
function series(grain, metric, unit, from, to) {
  const spans = D.kpis[grain].series[metric] || {};
  const span = spans[unit === null ? "" : unit] || [];
  const ps = D.kpis[grain].periods, rows = [];
  for (let j = 1; j < span.length; j++) {
    const p = ps[span[0] + j - 1];
    if (span[j] !== false && p >= from && p <= to) rows.push([p, unit, span[j]]);
  }
  return rows;
}
function fillPeriods() {
  const ps = periods($("grain").value);
  for (const id of ["from", "to"]) {
    const sel = $(id); sel.innerHTML = "";
    for (const p of ps) sel.appendChild(el("option", {value: p}, p));
  }
  $("from").value = ps[Math.max(0, ps.length - ($("grain").value === "month" ? 24 : 5))] || "";
  $("to").value = ps[ps.length - 1] || "";
}
function chart(lines) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 600 160");
  const values = lines.flatMap((l) => l.points.map((p) => p[1])).filter((v) => v !== null);
  if (!values.length) return svg;
  const lo = Math.min(0, ...values), hi = Math.max(...values) || 1;
  const n = Math.max(...lines.map((l) => l.points.length));
  lines.forEach((line, i) => {
    const pts = line.points.map((p, j) =>
      `${20 + (560 * j) / Math.max(1, n - 1)},${150 - (140 * (p[1] - lo)) / (hi - lo || 1)}`);
    const path = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    path.setAttribute("points", pts.join(" "));
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", COLORS[i % COLORS.length]);
    path.setAttribute("stroke-width", "2");
    svg.appendChild(path);
  });
  return svg;
}
function kpiSection(section, grain, unit, from, to) {
  const box = el("section", {id: "section-" + section.id});
  box.appendChild(el("h2", {}, section.title));
  const data = section.metrics.map((m) => ({metric: m, points: series(grain, m, unit, from, to)
    .map((r) => [r[0], r[2]])}));
  const cards = el("div", {class: "cards"});
  for (const d of data) {
    const last = d.points[d.points.length - 1];
    const card = el("div", {class: "card", "data-metric": d.metric});
    card.appendChild(el("b", {}, last ? fmt(last[1]) : "–"));
    card.appendChild(el("span", {}, (D.labels[d.metric] || d.metric) + (last ? " · " + last[0] : "")));
    cards.appendChild(card);
  }
  box.appendChild(cards);
  box.appendChild(chart(data));
  const allPeriods = [...new Set(data.flatMap((d) => d.points.map((p) => p[0])))].sort();
  if (!allPeriods.length) { box.appendChild(el("p", {class: "empty"}, "no figures for this selection")); return box; }
  const table = el("table", {"data-section": section.id});
  const head = el("tr"); head.appendChild(el("th", {}, grain));
  for (const d of data) head.appendChild(el("th", {}, D.labels[d.metric] || d.metric));
  table.appendChild(head);
  for (const p of allPeriods) {
    const tr = el("tr"); tr.appendChild(el("td", {}, p));
    for (const d of data) {
      const hit = d.points.find((x) => x[0] === p);
      tr.appendChild(el("td", {"data-metric": d.metric, "data-period": p,
        "data-value": hit && hit[1] !== null ? String(hit[1]) : ""}, hit ? fmt(hit[1]) : "–"));
    }
    table.appendChild(tr);
  }
  const scroll = el("div", {class: "scroll"}); scroll.appendChild(table); box.appendChild(scroll);
  return box;
}
function engagementSection(unit) {
  const root = D.units.length ? D.units[0][0] : null;
  const target = unit === null ? root : unit;
  const rows = D.engagement.filter((r) => r.org_unit_id === target);
  if (!D.engagement.length) return null;
  const box = el("section", {id: "section-engagement"});
  box.appendChild(el("h2", {}, "Engagement (anonymity rules applied)"));
  if (!rows.length) { box.appendChild(el("p", {class: "empty"}, "no survey figures for this unit")); return box; }
  const table = el("table", {"data-section": "engagement"});
  const head = el("tr"); head.appendChild(el("th", {}, "wave"));
  for (const f of ["engagement_index", "engaged_share", "enps", "response_rate", "respondents"])
    head.appendChild(el("th", {}, D.labels[f] || f));
  table.appendChild(head);
  for (const r of rows) {
    const tr = el("tr"); tr.appendChild(el("td", {}, r.wave_id));
    for (const f of ["engagement_index", "engaged_share", "enps", "response_rate", "respondents"]) {
      const td = el("td", {"data-metric": f, "data-period": r.wave_id,
        "data-value": r[f] === null ? "" : String(r[f])}, r.is_suppressed ? "suppressed" : fmt(r[f]));
      if (r.is_suppressed) td.className = "suppressed";
      tr.appendChild(td);
    }
    table.appendChild(tr);
  }
  box.appendChild(table);
  return box;
}
function sppSection() {
  if (!D.spp.length) return null;
  const box = el("section", {id: "section-spp"});
  box.appendChild(el("h2", {}, "Strategic workforce planning: demand, gap, hires needed (FTE)"));
  const table = el("table", {"data-section": "spp"});
  const head = el("tr");
  for (const h of ["scenario", "year", "demand", "gap", "hires needed"]) head.appendChild(el("th", {}, h));
  table.appendChild(head);
  const keyed = {};
  for (const [metric, scenario, year, value] of D.spp) {
    const k = scenario + "|" + year; keyed[k] = keyed[k] || {scenario, year}; keyed[k][metric] = value;
  }
  for (const r of Object.values(keyed)) {
    const tr = el("tr");
    tr.appendChild(el("td", {}, r.scenario)); tr.appendChild(el("td", {}, r.year));
    for (const m of ["demand_fte", "gap_fte", "hires_needed_fte"])
      tr.appendChild(el("td", {"data-metric": m, "data-period": r.year, "data-scenario": r.scenario,
        "data-value": r[m] === undefined ? "" : String(r[m])}, fmt(r[m])));
    table.appendChild(tr);
  }
  box.appendChild(table);
  return box;
}
function render() {
  const grain = $("grain").value, from = $("from").value, to = $("to").value;
  const unit = $("unit").value === "" ? null : $("unit").value;
  const main = $("main"); main.innerHTML = "";
  for (const s of D.sections) main.appendChild(kpiSection(s, grain, unit, from, to));
  const e = engagementSection(unit); if (e) main.appendChild(e);
  const s = sppSection(); if (s && unit === null) main.appendChild(s);
  document.body.setAttribute("data-rendered", grain + "|" + (unit || "") + "|" + from + "|" + to);
}
$("run").textContent = "publication " + D.run_id;
const unitSel = $("unit");
unitSel.appendChild(el("option", {value: ""}, "Whole organisation"));
for (const [id, name, level] of D.units)
  unitSel.appendChild(el("option", {value: id}, "\\u00a0".repeat(2 * (level - 1)) + name + " (" + id + ")"));
$("grain").addEventListener("change", () => { fillPeriods(); render(); });
for (const id of ["from", "to", "unit"]) $(id).addEventListener("change", render);
fillPeriods(); render();
</script>
</body></html>
"""
