"""A built warehouse copied and changed, and one model's grain test run on it by dbt: how the
dbt tests prove a grain test fails on bad data."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from metrics.published import PUBLISHABLE_FILE, connect_warehouse


def grain_test(warehouse: Path, model: str, target: Path) -> subprocess.CompletedProcess:
    """The model's unique_combination test, run by dbt on the given warehouse."""
    project = Path(__file__).parents[2] / "dbt_project"
    return subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "test", "--select",
         f"{model},test_name:unique_combination",
         "--profiles-dir", str(project), "--target-path", str(target)],
        cwd=project, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PEOPLEMART_HOME": str(warehouse.parent)},
    )  # fmt: skip


def copy_with(home: Path, folder: Path, *statements: str) -> Path:
    """A copy of the built warehouse, changed by the statements."""
    warehouse = folder / "warehouse.duckdb"
    warehouse.parent.mkdir()
    for name in ("warehouse.duckdb", PUBLISHABLE_FILE):
        shutil.copy(home / name, folder / name)
    with connect_warehouse(warehouse) as con:
        for statement in statements:
            con.execute(statement)
    return warehouse


def grain_test_after(home: Path, tmp_path: Path, model: str, *statements: str):
    """The model's grain test on an unchanged copy of the home's warehouse (it must pass), then
    its result on a copy changed by the statements."""
    target = tmp_path / "target"
    assert grain_test(copy_with(home, tmp_path / "clean"), model, target).returncode == 0
    return grain_test(copy_with(home, tmp_path / "changed", *statements), model, target)
