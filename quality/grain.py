"""The gate's grain check, spelled by the dbt project's own macro.

dbt's unique_combination test and the gate's re-check of what is published must find the same
repeated keys. The SQL that finds them is written once, as Jinja macros in
`dbt_project/macros/repeated_keys.sql`, which use nothing of dbt's context, so plain Jinja renders
here the same SQL dbt runs there (whitespace aside).
"""

import functools
from collections.abc import Sequence
from pathlib import Path

import jinja2

MACROS = Path(__file__).resolve().parents[1] / "dbt_project" / "macros" / "repeated_keys.sql"


@functools.cache
def _macros():
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    return environment.from_string(MACROS.read_text()).module


def repeated_rows(table: str, key: Sequence[str], month_column: str | None = None) -> str:
    """A scalar query: the rows beyond the first of each key, so a table's rows less these are
    its distinct keys (a null key part counts as a value). Exact, and cheaper than counting
    distinct keys (fct_retention_periods at 100,000 employees: 1.9 -> 1.3 s hashed first)."""
    columns = [f'"{column}"' for column in key]
    if month_column is None:
        repeated = _macros().repeated_keys_hash_first(table, columns)
    else:
        repeated = _macros().repeated_keys_by_month_bits(table, columns, f'"{month_column}"')
    return f"select coalesce(sum(occurrences - 1), 0) from ({repeated})"
