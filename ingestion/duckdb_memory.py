"""DuckDB connections bounded in memory, for every step of a night.

DuckDB's buffer pool takes up to 80 % of the machine by default and gives little of it back: a
step copying tens of millions of rows (the publication, the survey groups) then holds gigabytes
that the next step and dbt also need. Every connection the pipeline opens gets the same bound as
dbt's profile (`PEOPLEMART_DUCKDB_MEMORY_LIMIT`); larger work spills to disk. Unset, a night
sizes it from its data (`sized_memory_limit`): 3GB, or 10GB for a large organisation.

The bound is set after connecting, not in the connect config: a process may already hold the
same database file open, and DuckDB refuses a second connection whose config differs.
"""

import os
from pathlib import Path

import duckdb

MEMORY_LIMIT_ENV = "PEOPLEMART_DUCKDB_MEMORY_LIMIT"


class NightSettingError(ValueError):
    """A memory or thread setting in the environment that a night cannot use."""


DBT_THREADS_ENV = "PEOPLEMART_DBT_THREADS"
DEFAULT_MEMORY_LIMIT = "3GB"
# Spilling does not save every operator: at a million employees x 10 years a uniqueness test over
# the 266 million day-exact pieces ran out of 3GB. Extracts that large (about 400,000 employees
# x 10 years; 100,000 x 10 land 0.6 GB) get the large bound, capped at 60 % of the machine. The
# warehouse's size stands in where no landing is read (a publish-only night): it is about five
# times the extracts.
LARGE_MEMORY_LIMIT_GB = 10
LARGE_LANDING_BYTES = 2_500_000_000
LARGE_WAREHOUSE_BYTES = 12_000_000_000
MACHINE_SHARE = 0.6


def memory_limit(value: str | None = None) -> str:
    """The configured bound, checked: DuckDB would take a typo for a setting it cannot parse
    only at the first query of a night."""
    limit = (value or os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT).strip()
    if not limit.replace(".", "").rstrip("KMGTiBb").isdigit():
        raise NightSettingError(f"{MEMORY_LIMIT_ENV} must look like 3GB, got {limit!r}")
    return limit


def _bytes_under(path: Path | None) -> int:
    if path is None or not path.exists():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())


def _machine_gb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9


def is_large(landing: Path | None, warehouse: Path | None) -> bool:
    """Whether these extracts or this warehouse are a large organisation's."""
    return (
        _bytes_under(landing) >= LARGE_LANDING_BYTES
        or _bytes_under(warehouse) >= LARGE_WAREHOUSE_BYTES
    )


def sized_memory_limit(landing: Path | None, warehouse: Path | None) -> str:
    """The bound for a night over these extracts and this warehouse: the environment's when set,
    else the large bound for a large organisation, else the default."""
    if os.environ.get(MEMORY_LIMIT_ENV):
        return memory_limit()
    if not is_large(landing, warehouse):
        return DEFAULT_MEMORY_LIMIT
    return f"{min(LARGE_MEMORY_LIMIT_GB, int(_machine_gb() * MACHINE_SHARE))}GB"


def sized_dbt_threads(landing: Path | None, warehouse: Path | None) -> str:
    """dbt's threads for the night: the environment's when set, else 2, and 1 for a large
    organisation. Two models building at once share one buffer pool, so both spill more: at a
    million employees with two threads the two monthly facts (workforce, nulverzuim) filled the
    disk together. One thread bounds that but is not enough on its own: fct_workforce_monthly
    alone then filled it too (DECISIONS.md, 2026-11-30, late night). DuckDB already uses every
    core inside one model, so the thread costs little."""
    explicit = os.environ.get(DBT_THREADS_ENV, "").strip()
    if explicit:
        if not explicit.isdigit() or int(explicit) < 1:
            raise NightSettingError(
                f"{DBT_THREADS_ENV} must be a whole number from 1, got {explicit!r}"
            )
        return explicit
    return "1" if is_large(landing, warehouse) else "2"


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
