"""Where the project's parts are. Apart from Dagster's resources: `peoplemart kpi` needs these
paths, and importing Dagster and dagster-dbt would add four seconds to every question."""

import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# dbt from this interpreter's environment, whether or not the venv is on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")
