"""Resources: the only place that reads the environment (PEOPLEMART_HOME, _LANDING, _SECRET_KEY,
_SURVEY_MIN_GROUP_SIZE, _ALERT_WEBHOOK, _POSTGRES_DSN, _POSTGRES, _STEP_RETRIES,
_RETRY_DELAY_SECONDS, _RETENTION_HR_YEARS, _RETENTION_FINANCE_YEARS, _RETENTION_AS_OF)."""

import datetime as dt
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource
from packaging.version import Version

from ingestion.duckdb_memory import memory_limit
from ingestion.privacy import Pseudonymiser
from ingestion.retention import RetentionPolicy
from metrics.published import connect_warehouse
from orchestration.project import DBT_EXECUTABLE, DBT_PROJECT_DIR, PROJECT_ROOT

KEY_FILE = Path("secrets") / "pseudonymisation.key"


class PeoplemartHome(dg.ConfigurableResource):
    """The folders one peoplemart installation works in, and its pseudonymisation key."""

    home: str
    landing: str
    secret_key: str | None = None
    # Survey anonymity threshold (KPIS.md): default 5, never below 3 (checked where applied).
    survey_min_group_size: int | None = None
    # Where the publication also goes: a PostgreSQL DSN, or "embedded" for a pgserver in the home.
    postgres: str | None = None
    # AVG retention windows (ingestion/retention.py): HR data after the end of employment,
    # payroll and finance data after their period; the clock, when not the HR snapshot's day.
    retention_hr_years: int = 2
    retention_finance_years: int = 7
    # The warehouse's memory bound for the steps outside dbt (KPI tables, survey results), the
    # same one dbt's profile sets: DuckDB would otherwise take 80 % of the machine (16 GB here).
    duckdb_memory_limit: str = "2.8GB"
    retention_as_of: str | None = None

    @property
    def home_path(self) -> Path:
        return Path(self.home).resolve()

    @property
    def landing_path(self) -> Path:
        return Path(self.landing).resolve()

    @property
    def warehouse_path(self) -> Path:
        return self.home_path / "warehouse.duckdb"

    @property
    def dbt_path(self) -> Path:
        """dbt's target folders of this home's runs and its partial-parse state."""
        return self.home_path / "dbt"

    def connect(self) -> duckdb.DuckDBPyConnection:
        self.home_path.mkdir(parents=True, exist_ok=True)
        return connect_warehouse(self.warehouse_path, limit=self.duckdb_memory_limit)

    @contextmanager
    def postgres_dsn(self) -> Iterator[str | None]:
        """The serving PostgreSQL for this run, started here when it is the embedded one."""
        if not self.postgres:
            yield None
            return
        if self.postgres != "embedded":
            yield self.postgres
            return
        from metrics.embedded_postgres import embedded_postgres

        with embedded_postgres(self.home_path) as dsn:
            yield dsn

    def retention_policy(self) -> RetentionPolicy:
        return RetentionPolicy(
            hr_years=self.retention_hr_years,
            finance_years=self.retention_finance_years,
            as_of=dt.date.fromisoformat(self.retention_as_of) if self.retention_as_of else None,
        )

    def pseudonymiser(self) -> Pseudonymiser:
        """Key from PEOPLEMART_SECRET_KEY, else a key file generated once beside the warehouse.

        The key never enters the warehouse: whoever holds only warehouse.duckdb cannot reverse
        or recompute a pseudonym.
        """
        if self.secret_key:
            return Pseudonymiser(self.secret_key.encode())
        key_file = self.home_path / KEY_FILE
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.parent.chmod(0o700)
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        return Pseudonymiser(key_file.read_text().strip().encode())


class PeoplemartDbt(DbtCliResource):
    """dagster-dbt's resource without two start-up costs peoplemart never needs (5 s a night,
    every run of the test suite).

    It asks the dbt executable for its version in a subprocess (3 s): ours is this interpreter's
    own dbt, so the installed dbt-core is the answer. And it opens a dbt adapter in this process
    (2 s), used only to fetch row counts and column metadata, which no asset asks for."""

    @cached_property
    def _cli_version(self) -> Version:
        return Version(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        return None


def alert_webhook_from_env() -> str | None:
    """Where a failed run is reported besides the alert file (PEOPLEMART_ALERT_WEBHOOK)."""
    return os.environ.get("PEOPLEMART_ALERT_WEBHOOK") or None


def crash_retry_policy_from_env() -> dg.RetryPolicy:
    """Steps that crash (a lock held by someone else, a full disk, memory, a killed dbt) are
    tried again; steps that fail a data check or find no marts built raise
    `dg.Failure(allow_retries=False)` (metrics assets' `not_retried`) and are not: the same data
    would fail the same way, and a retry would only delay the alert."""
    return dg.RetryPolicy(
        max_retries=int(os.environ.get("PEOPLEMART_STEP_RETRIES", "2")),
        delay=float(os.environ.get("PEOPLEMART_RETRY_DELAY_SECONDS", "30")),
        backoff=dg.Backoff.EXPONENTIAL,
    )


def peoplemart_home_from_env() -> PeoplemartHome:
    return PeoplemartHome(
        home=os.environ.get("PEOPLEMART_HOME", str(PROJECT_ROOT / "demo" / "home")),
        landing=os.environ.get("PEOPLEMART_LANDING", str(PROJECT_ROOT / "demo" / "landing")),
        secret_key=os.environ.get("PEOPLEMART_SECRET_KEY") or None,
        survey_min_group_size=int(os.environ["PEOPLEMART_SURVEY_MIN_GROUP_SIZE"])
        if os.environ.get("PEOPLEMART_SURVEY_MIN_GROUP_SIZE")
        else None,
        postgres=os.environ.get("PEOPLEMART_POSTGRES_DSN") or os.environ.get("PEOPLEMART_POSTGRES"),
        retention_hr_years=int(os.environ.get("PEOPLEMART_RETENTION_HR_YEARS", "2")),
        retention_finance_years=int(os.environ.get("PEOPLEMART_RETENTION_FINANCE_YEARS", "7")),
        retention_as_of=os.environ.get("PEOPLEMART_RETENTION_AS_OF") or None,
        duckdb_memory_limit=memory_limit(),
    )


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "peoplemart": peoplemart_home_from_env(),
            "dbt": PeoplemartDbt(
                project_dir=str(DBT_PROJECT_DIR),
                profiles_dir=str(DBT_PROJECT_DIR),
                dbt_executable=DBT_EXECUTABLE,
            ),
        }
    )
