"""How much memory and how many dbt threads a night gets, sized from its data.

A night over a large organisation's extracts (or, for a publish-only night, its warehouse) gets
the large DuckDB bound and builds one dbt model at a time; the environment's own settings win.
The values are handed to dbt and every step through the environment (dbt's profile reads them
there), so this module remembers what it wrote: a second night in the same process is sized
again, not mistaken for the user's setting.
"""

import os
from pathlib import Path

from ingestion.duckdb_memory import (
    DEFAULT_MEMORY_LIMIT,
    MEMORY_LIMIT_ENV,
    NightSettingError,
    memory_limit,
)
from metrics.published import publishable_path

DBT_THREADS_ENV = "PEOPLEMART_DBT_THREADS"
# Spilling does not save every operator: at a million employees x 10 years a uniqueness test over
# the 266 million day-exact pieces ran out of 3GB. Extracts that large (about 400,000 employees
# x 10 years; 100,000 x 10 land 0.6 GB) get the large bound, capped at 60 % of the machine. The
# warehouse's size stands in where no landing is read (a publish-only night): it is about five
# times the extracts.
LARGE_MEMORY_LIMIT_GB = 10
LARGE_LANDING_BYTES = 2_500_000_000
LARGE_WAREHOUSE_BYTES = 12_000_000_000
MACHINE_SHARE = 0.6

# What sizing itself put in the environment, by variable: those values are not the user's.
_written_by_sizing: dict[str, str] = {}


def _users_setting(name: str) -> str:
    value = os.environ.get(name, "").strip()
    return "" if _written_by_sizing.get(name) == value else value


def _bytes_under(path: Path | None) -> int:
    if path is None or not path.exists():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())


def _machine_gb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9


def is_large(landing: Path | None, warehouse: Path | None) -> bool:
    """Whether these extracts or this warehouse (with its publishable file) are a large
    organisation's."""
    built = _bytes_under(warehouse) + _bytes_under(warehouse and publishable_path(warehouse))
    return _bytes_under(landing) >= LARGE_LANDING_BYTES or built >= LARGE_WAREHOUSE_BYTES


def sized_memory_limit(landing: Path | None, warehouse: Path | None) -> str:
    """The bound for a night over these extracts and this warehouse: the environment's when set,
    else the large bound for a large organisation, else the default."""
    explicit = _users_setting(MEMORY_LIMIT_ENV)
    if explicit:
        return memory_limit(explicit)
    if not is_large(landing, warehouse):
        return DEFAULT_MEMORY_LIMIT
    return f"{min(LARGE_MEMORY_LIMIT_GB, int(_machine_gb() * MACHINE_SHARE))}GB"


def sized_dbt_threads(landing: Path | None, warehouse: Path | None) -> str:
    """dbt's threads for the night: the environment's when set, else 2, and 1 for a large
    organisation. Two models building at once share one buffer pool, so both spill more: at a
    million employees with two threads the two monthly facts (workforce, nulverzuim) filled the
    disk together (DECISIONS.md, 2026-11-30, late night). DuckDB already uses every core inside
    one model, so the thread costs little."""
    explicit = _users_setting(DBT_THREADS_ENV)
    if explicit:
        if not explicit.isdigit() or int(explicit) < 1:
            raise NightSettingError(
                f"{DBT_THREADS_ENV} must be a whole number from 1, got {explicit!r}"
            )
        return explicit
    return "1" if is_large(landing, warehouse) else "2"


def sized_environment(landing: Path | None, warehouse: Path | None) -> dict[str, str]:
    """The night's memory bound and dbt threads as environment variables, remembered as sized
    so that the next night of the process sizes them again."""
    sized = {
        MEMORY_LIMIT_ENV: sized_memory_limit(landing, warehouse),
        DBT_THREADS_ENV: sized_dbt_threads(landing, warehouse),
    }
    for name, value in sized.items():
        if not _users_setting(name):
            _written_by_sizing[name] = value
    return sized
