"""The gate's library imported ahead of the gate (quality.suites.import_great_expectations), which
the dbt step does while dbt starts (tests/e2e/test_run.py)."""

import subprocess
import sys

from metrics.catalog import PROJECT_ROOT


def test_great_expectations_is_imported_once_and_a_second_call_costs_nothing():
    script = (
        "import sys\n"
        "from quality.suites import import_great_expectations\n"
        "assert 'great_expectations' not in sys.modules\n"
        "first = import_great_expectations()\n"
        "assert 'great_expectations.expectations' in sys.modules\n"
        "print(first > 0, import_great_expectations() == 0.0)\n"
    )
    answer = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    assert answer.stdout.split() == ["True", "True"]
