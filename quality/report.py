"""The data-quality report of a run: one self-contained HTML page (styles inline, no script, no
link to any other host), so it opens from a file share or an e-mail attachment, offline.

Great Expectations' own Data Docs load their styles from a CDN and need a file-backed context;
this page shows the same validation results (each suite, each expectation, observed values and
unexpected examples) plus the dbt tests of the same run.
"""

import datetime as dt
import html
import json
from dataclasses import asdict
from pathlib import Path

from quality.suites import ERROR, WARN, SuiteResult

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2937}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem;font-size:.9rem}
th,td{border:1px solid #d1d5db;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f4f6}.pass{color:#047857;font-weight:600}.fail{color:#b91c1c;font-weight:600}
.warn{color:#b45309;font-weight:600}.summary{display:flex;gap:1rem;flex-wrap:wrap}
.card{border:1px solid #d1d5db;border-radius:.5rem;padding:.75rem 1rem;min-width:10rem}
.card b{display:block;font-size:1.6rem}code{font-size:.85rem}
"""


def _status(passed: bool, severity: str) -> str:
    if passed:
        return '<span class="pass">passed</span>'
    return (
        '<span class="fail">failed</span>'
        if severity == ERROR
        else '<span class="warn">warning</span>'
    )


def _dbt_tests(dbt_results: list[dict]) -> list[dict]:
    return [
        {"test": r["unique_id"].split(".")[2], "status": r["status"], "failures": r.get("failures")}
        for r in dbt_results
        if r["unique_id"].startswith("test.")
    ]


def _expectation_item(x: dict) -> str:
    e = html.escape
    item = f"<li>{'✔' if x['success'] else '✘'} <code>{e(x['expectation'])}</code> "
    item += e(json.dumps(x["kwargs"]))
    if x["unexpected_count"]:
        item += f" — unexpected: {x['unexpected_count']}"
    if x["unexpected_examples"] and not x["success"]:
        item += f" e.g. {e(json.dumps(x['unexpected_examples']))}"
    if x["observed_value"] is not None:
        item += f" — observed: {e(json.dumps(x['observed_value']))}"
    return item + "</li>"


def write_report(
    results: list[SuiteResult], run_id: str, out_dir: Path, dbt_results: list[dict] = ()
) -> Path:
    """Write `index.html` and `results.json` for the run into out_dir; return the HTML path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    dbt_tests = _dbt_tests(dbt_results)
    blocking_failures = [r for r in results if not r.passed and r.severity == ERROR]
    warnings = [r for r in results if not r.passed and r.severity != ERROR]
    # A dbt test configured to warn has status `warn`: reported, not blocking.
    dbt_failures = [t for t in dbt_tests if t["status"] in ("fail", "error")]
    e = html.escape
    rows = []
    for result in results:
        details = "".join(_expectation_item(x) for x in result.expectations)
        rows.append(
            f"<tr data-suite='{e(result.suite)}' data-asset='{e(result.asset)}'>"
            f"<td>{_status(result.passed, result.severity)}</td>"
            f"<td><code>{e(result.asset)}</code></td>"
            f"<td><code>{e(result.suite)}</code><br>{e(result.description)}</td>"
            f"<td>{result.rows_checked}</td><td><ul>{details}</ul></td></tr>"
        )
    dbt_rows = "".join(
        f"<tr><td>{_status(t['status'] == 'pass', WARN if t['status'] == 'warn' else ERROR)}</td>"
        f"<td><code>{e(t['test'])}</code></td><td>{t['failures'] or 0}</td></tr>"
        for t in dbt_tests
    )
    verdict = "blocked: nothing was published" if blocking_failures or dbt_failures else "passed"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>peoplemart data quality — run {e(run_id)}</title><style>{STYLE}</style></head>
<body>
<h1>Data quality — run <code>{e(run_id)}</code></h1>
<p>Written {dt.datetime.now().isoformat(timespec="seconds")}.
Verdict: <b id="verdict">{verdict}</b>.</p>
<div class="summary">
<div class="card"><b id="suites-passed">{sum(r.passed for r in results)}</b>suites passed</div>
<div class="card"><b id="suites-failed">{len(blocking_failures)}</b>blocking failures</div>
<div class="card"><b id="suites-warned">{len(warnings)}</b>warnings</div>
<div class="card"><b id="dbt-tests">{len(dbt_tests)}</b>dbt tests ({len(dbt_failures)} failed)</div>
</div>
<h2>Great Expectations suites</h2>
<table id="suites"><thead><tr><th>status</th><th>asset</th><th>suite</th><th>rows profiled</th>
<th>expectations</th></tr></thead><tbody>{"".join(rows)}</tbody></table>
<h2>dbt tests</h2>
<table id="dbt"><thead><tr><th>status</th><th>test</th><th>failing rows</th></tr></thead>
<tbody>{dbt_rows}</tbody></table>
</body></html>
"""
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    (out_dir / "results.json").write_text(
        json.dumps(
            {
                "run_id": run_id,
                "passed": not blocking_failures,
                "suites": [asdict(r) for r in results],
                "dbt_tests": dbt_tests,
            },
            indent=1,
            default=str,
        )
    )
    return path
