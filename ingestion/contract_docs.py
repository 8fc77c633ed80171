"""Render docs/extracts.md, the user-facing page of the extract contract, from the registry."""

from pathlib import Path

from ingestion.registry import EXTRACTS, SOURCES

DOC_PATH = Path(__file__).resolve().parents[1] / "docs" / "extracts.md"
_KINDS = {
    "VARCHAR": "text",
    "DATE": "date",
    "DOUBLE": "decimal",
    "BIGINT": "integer",
    "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp",
    "DECIMAL(18,2)": "EUR amount",
}

_INTRO = """\
# The extract contract, as implemented

What peoplemart accepts. The contract is `../shared/EXTRACTS.md`; the code is
`ingestion/contracts/` and `ingestion/registry.py`. This page is rendered from that code
(`make docs`) and a test fails when it is out of date.

## Deliveries

```
<landing>/<source>/<delivery_id>/<entity>.<csv|xlsx|parquet>   [manifest.json]
```

- `source`: `hris`, `survey`, `finance`, `planning`. `delivery_id`: `YYYYMMDD` or
  `YYYYMMDDTHHMMSS`; deliveries are processed in that order.
- Entity names are matched case-insensitively (`EMPLOYEES.csv` is `employees`); one file per entity
  per delivery.
- xlsx: the first sheet, header in row 1 (other sheets are noted and ignored). Parquet: columns that
  already have the contract type are kept; others are read as text and parsed.
- `manifest.json` (`{"files": {"employees.csv": {"rows": 123, "sha256": "..."}}}`), when present, is
  verified: a row-count or checksum mismatch rejects that file.
- The same bytes under any name or in any delivery are loaded once (`duplicate` in the ledger).
- Files outside a valid delivery folder, unknown entities and unknown sources are reported as
  rejected, never skipped silently.

## CSV dialects (detected, never configured)

| | canonical | Dutch export |
|---|---|---|
| encoding | UTF-8, with or without BOM | Windows-1252 |
| separator | `,` | `;` |
| decimal | `36.5` | `36,5`, `1.234,5` |
| dates | `2024-03-05` | `05-03-2024`, `5-3-2024` |

Both date forms are accepted in every file. UTF-16, bytes undefined in both encodings, a header that
splits equally well on `,` and `;`, and a bare `36.5` in a decimal-comma file are refused with the
reason. Booleans: `true/false`, `1/0`, `ja/nee`, `j/n`, `yes/no`, `waar/onwaar`. Headers are matched
after normalisation (lower case, accents stripped, spaces and dashes to `_`).

## Load semantics

| source | a newer delivery ... |
|---|---|
| hris | is a full snapshot: the newest delivery carrying employees, contracts, terminations, org_units and jobs is the truth; older ones stay in raw for audit |
| survey | replaces the waves it carries (waves, invitations, responses by `wave_id`; items by `item_id`) |
| finance | replaces the periods it carries (gl_entries and payroll by `period`, formation by `year`); cost_centers are replaced whole |
| planning | replaces all scenarios |

## Privacy at the door

- Identifier columns (*id* below) are replaced by a keyed HMAC pseudonym before anything is stored.
- `bsn` and `full_name` (`naam`, `burgerservicenummer`) are dropped; a 9-digit value passing the
  11-proef in any other text column quarantines the row as a privacy incident (value not stored).
- `birth_date` is stored only in `restricted.hris_employees`.
- A column whose header looks medical (diagnose, klacht, complaint, medical, ...) rejects the file.
"""


def _rule(check) -> str:
    statistics = {k: v for k, v in (check.statistics or {}).items() if v is not None}
    values = ", ".join(str(v) for v in statistics.values())
    return f"{check.name} {values}".strip()


def render() -> str:
    lines = [_INTRO]
    for source in SOURCES:
        lines += [f"## {source}", ""]
        for spec in (s for s in EXTRACTS if s.source == source):
            schema = spec.contract.to_schema()
            lines += [
                f"### `{spec.entity}`",
                "",
                "| column | Dutch aliases | type | required | rules |",
                "|---|---|---|---|---|",
            ]
            for column in spec.columns:
                declared = schema.columns[column.name]
                rules = [_rule(check) for check in declared.checks]
                if declared.unique:
                    rules.append("unique")
                if column.identifier:
                    rules.append("*id* (pseudonymised)")
                if column.restricted:
                    rules.append("restricted layer only")
                required = (
                    "no (column may be absent)"
                    if column.optional
                    else "yes"
                    if not column.nullable
                    else "column yes, value optional"
                )
                aliases = ", ".join(f"`{a}`" for a in column.aliases)
                lines.append(
                    f"| `{column.name}` | {aliases} | {_KINDS[column.sql_type]} | "
                    f"{required} | {'; '.join(rules)} |"
                )
            lines += [f"\nRow rule: {check.name}." for check in schema.checks]
            if schema.unique:
                lines.append(f"\nKey: ({', '.join(schema.unique)}) is unique.")
            lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    DOC_PATH.write_text(render())
