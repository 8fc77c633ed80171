"""DuckDB connections bounded in memory, for every step of a night.

DuckDB's buffer pool takes up to 80 % of the machine by default and gives little of it back: a
step copying tens of millions of rows (the publication, the survey groups) then holds gigabytes
that the next step and dbt also need. Every connection the pipeline opens gets the same bound as
dbt's profile (`PEOPLEMART_DUCKDB_MEMORY_LIMIT`); larger work spills to disk. Unset, a night
sizes it from its data (orchestration/sizing.py): 3GB, or 10GB for a large organisation.

The bound is set after connecting, not in the connect config: a process may already hold the
same database file open, and DuckDB refuses a second connection whose config differs.
"""

import os
from pathlib import Path

import duckdb

MEMORY_LIMIT_ENV = "PEOPLEMART_DUCKDB_MEMORY_LIMIT"


class NightSettingError(ValueError):
    """A memory or thread setting in the environment that a night cannot use."""


DEFAULT_MEMORY_LIMIT = "3GB"


def memory_limit(value: str | None = None) -> str:
    """The configured bound, checked: DuckDB would take a typo for a setting it cannot parse
    only at the first query of a night."""
    limit = (value or os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT).strip()
    if not limit.replace(".", "").rstrip("KMGTiBb").isdigit():
        raise NightSettingError(f"{MEMORY_LIMIT_ENV} must look like 3GB, got {limit!r}")
    return limit


def bounded_connect(
    database: Path | str | None = None, read_only: bool = False, limit: str | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection (in memory when no database is given) under the memory bound."""
    if database is None:
        con = duckdb.connect()
    else:
        con = duckdb.connect(str(database), read_only=read_only)
    try:
        con.execute(f"set memory_limit = '{memory_limit(limit)}'")
    except BaseException:
        con.close()
        raise
    return con
