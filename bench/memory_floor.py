"""The smallest DuckDB memory bound a dbt model builds under: how close to its bound it runs.

One build that fitted says little: whether a query that spills runs out of memory depends on how
its threads' partitions happened to fill, and a million-employee model failed once in three nights
under the same bound. The bound below which it fails is the margin. Each bound is tried in a fresh
process (a warm buffer pool would change the answer) on the model's SQL as the home's newest dbt
build compiled it, with the dbt profile's settings (two threads, insertion order not kept), reading
the home's warehouse read-only and writing into a scratch file of its own: the home is unchanged.
"""

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ingestion.duckdb_memory import limit_bytes
from orchestration.dbt_targets import finished_attempts

THREADS = 2


class NoCompiledModel(LookupError):
    """The home's dbt builds compiled no model of that name."""


def compiled_sql(home: Path, model: str) -> Path:
    """The model's SQL from the newest dbt build of the home that compiled it."""
    for attempt in reversed(finished_attempts(home / "dbt")):
        found = sorted((attempt / "compiled").glob(f"*/models/**/{model}.sql"))
        if found:
            return found[0]
    raise NoCompiledModel(f"no dbt build in {home / 'dbt'} compiled a model named {model}")


def try_bound(warehouse: Path, sql: Path, bound: str) -> dict:
    """Build the model once under `bound`, in a process of its own."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.memory_floor", str(warehouse), str(sql), bound],
        capture_output=True,
        text=True,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"bound": bound, "built": False, "error": (result.stderr or "no answer")[-300:]}
    return json.loads(lines[-1])


def memory_floor(home: Path, model: str, bounds: list[str]) -> dict:
    """Every bound tried, largest first, and the floor: the smallest bound under which the model
    built with every larger one built too. A failure above a bound that built is no floor."""
    sql = compiled_sql(home, model)
    tries = [
        try_bound(home / "warehouse.duckdb", sql, bound)
        for bound in sorted(bounds, key=limit_bytes, reverse=True)
    ]
    floor = None
    for attempt in tries:
        if not attempt["built"]:
            break
        floor = attempt["bound"]
    return {"model": model, "compiled": str(sql), "tries": tries, "floor": floor}


def markdown(results: list[dict], home: Path, command: str) -> str:
    lines = [
        "# Memory floor",
        "",
        f"`{command}`, {time.strftime('%Y-%m-%d')}, on the warehouse of `{home}`. Each bound "
        f"tried once in a fresh process ({THREADS} threads, insertion order not kept, as the dbt "
        "profile), largest first. The floor is the smallest bound that built with no failure "
        "above it.",
        "",
        "| model | bound | built | seconds | peak RSS MB | error |",
        "|---|---:|---|---:|---:|---|",
    ]
    for result in results:
        for t in result["tries"]:
            lines.append(
                f"| {result['model']} | {t['bound']} | {'yes' if t['built'] else '**no**'} | "
                f"{t.get('seconds', '')} | {t.get('peak_rss_mb', '')} | {t.get('error') or ''} |"
            )
    lines += ["", *[f"- {r['model']}: floor {r['floor'] or 'none'}" for r in results], ""]
    return "\n".join(lines)


def _build_once(warehouse: Path, sql: Path, bound: str) -> dict:
    """Run in the child process: the model's SQL into a scratch file under `bound`."""
    import duckdb

    from metrics.published import attach_publishable

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="memory-floor-") as scratch:
        con = duckdb.connect(
            str(Path(scratch) / "scratch.duckdb"),
            config={"memory_limit": bound, "threads": THREADS, "preserve_insertion_order": False},
        )
        try:
            # The compiled SQL names the warehouse's tables as "warehouse"."schema"."table",
            # the marts as "publishable"."marts"."table".
            con.execute(f"attach '{warehouse}' as warehouse (read_only)")
            attach_publishable(con, warehouse, read_only=True)
            con.execute(f"create table built as {sql.read_text()}")
            rows = con.execute("select count(*) from built").fetchall()[0][0]
            outcome = {"built": True, "rows": rows, "error": None}
        except duckdb.Error as error:
            outcome = {"built": False, "error": str(error).splitlines()[0][:200]}
        finally:
            con.close()
    return {
        "bound": bound,
        **outcome,
        "seconds": round(time.monotonic() - started, 1),
        # The child's own high-water mark: the build is all it did.
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


if __name__ == "__main__":
    warehouse_arg, sql_arg, bound_arg = sys.argv[1:4]
    print(json.dumps(_build_once(Path(warehouse_arg), Path(sql_arg), bound_arg)), flush=True)
