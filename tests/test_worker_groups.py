"""The suite fits CI's twenty minutes only if each module's shared home is built once: its
tests run on one pytest-xdist worker (`--dist loadgroup`, as `make test` runs them). pytest 9.2
silently undid the grouping (pytest-xdist issue 1386): every home was built on both workers."""

import subprocess
import sys
from pathlib import Path

GROUPED_MODULE = """
import os
import pytest

pytestmark = [pytest.mark.xdist_group("home")]


@pytest.mark.parametrize("case", range(6))
def test_case(case):
    with open("workers.txt", "a") as log:
        log.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")
"""


def test_a_groups_tests_run_on_one_worker(tmp_path: Path):
    for module in ("test_first.py", "test_second.py"):
        (tmp_path / module).write_text(GROUPED_MODULE)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
         "--dist", "loadgroup", "-o", "addopts=", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:]
    workers = (tmp_path / "workers.txt").read_text().split()
    assert len(workers) == 12 and len(set(workers)) == 1, workers
