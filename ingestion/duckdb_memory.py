"""DuckDB connections bounded in memory, for every step of a night.

DuckDB's buffer pool takes up to 80 % of the machine by default and gives little of it back: a
step copying tens of millions of rows (the publication, the survey groups) then holds gigabytes
that the next step and dbt also need. Every connection the pipeline opens gets the same bound as
dbt's profile (`PEOPLEMART_DUCKDB_MEMORY_LIMIT`); larger work spills to disk. Unset, a night
sizes it from its data (orchestration/sizing.py): 2.8GB, or 10GB for a large organisation.

The bound is set after connecting, not in the connect config: a process may already hold the
same database file open, and DuckDB refuses a second connection whose config differs.
"""

import os
import re
from pathlib import Path

import duckdb

MEMORY_LIMIT_ENV = "PEOPLEMART_DUCKDB_MEMORY_LIMIT"


class NightSettingError(ValueError):
    """A memory or thread setting in the environment that a night cannot use."""


# The night's bound beside the night's own processes: at 100,000 employees x 10 years the dbt
# build alone took 144 s under both 3GB and 2.8GB (its process 3.41 GB against 3.23 GB; under
# 2.5GB 166 s), and Dagster's process holds about 0.5 GB beside it: the 4 GB target's margin.
DEFAULT_MEMORY_LIMIT = "2.8GB"


def memory_limit(value: str | None = None) -> str:
    """The configured bound, checked: DuckDB would take a typo for a setting it cannot parse
    only at the first query of a night."""
    limit = (value or os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT).strip()
    limit_bytes(limit)
    return limit


# The units DuckDB reads (it refuses a number without one).
_UNIT_BYTES = {"b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9,
               "gb": 10**9, "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20,
               "gib": 2**30, "tib": 2**40}  # fmt: skip


def limit_bytes(limit: str) -> float:
    """A bound as DuckDB reads it (GB = 10^9 bytes, GiB = 2^30), in bytes."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", limit)
    if not match or match.group(2).lower() not in _UNIT_BYTES:
        raise NightSettingError(f"{MEMORY_LIMIT_ENV} must look like 3GB, got {limit!r}")
    return float(match.group(1)) * _UNIT_BYTES[match.group(2).lower()]


# A copy streams: each row group is read once and written once, so a buffer pool larger than a
# few row groups per thread only caches blocks nobody reads again. The publication's copy of
# 135 million rows at 100,000 employees took 48 s under both 3GB and 1.5GB, and its process
# 3.2 GB against 1.7 GB: beside the night's process that was the difference to 4 GB.
STREAMING_MEMORY_LIMIT = "1.5GB"


def streaming_limit() -> str:
    """The bound for a connection that only copies: the night's, at most STREAMING_MEMORY_LIMIT."""
    night = memory_limit()
    if limit_bytes(night) <= limit_bytes(STREAMING_MEMORY_LIMIT):
        return night
    return STREAMING_MEMORY_LIMIT


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
