"""A night is sized from its data: DuckDB's memory bound and dbt's threads."""

import pytest

from ingestion.duckdb_memory import MEMORY_LIMIT_ENV
from metrics.published import PUBLISHABLE_FILE
from orchestration import sizing
from orchestration.sizing import (
    DBT_THREADS_ENV,
    sized_dbt_threads,
    sized_environment,
    sized_memory_limit,
)


def _sparse(path, size: int):
    # A sparse file: its size counts, no disk is used.
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def test_a_night_is_sized_by_its_extracts_or_else_its_warehouse(monkeypatch, tmp_path):
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    monkeypatch.setattr(sizing, "_machine_gb", lambda: 24.0)
    landing, warehouse = tmp_path / "landing", tmp_path / "home" / "warehouse.duckdb"
    _sparse(landing / "hris" / "2025-01-31" / "contracts.csv", 2_499_999_999)
    assert sized_memory_limit(landing, warehouse) == "2.8GB"
    _sparse(landing / "finance" / "2025-01-31" / "actuals.csv", 1)
    assert sized_memory_limit(landing, warehouse) == "10GB"
    # A publish-only night reads no landing: a warehouse of a large organisation stands in,
    # its publishable file (the marts, KPI tables and survey results) counted with it.
    _sparse(warehouse, 9_999_999_999)
    publishable = _sparse(warehouse.with_name(PUBLISHABLE_FILE), 2_000_000_000)
    assert sized_memory_limit(None, warehouse) == "2.8GB"
    _sparse(publishable, 2_000_000_001)
    assert sized_memory_limit(None, warehouse) == "10GB"


def test_the_large_bound_leaves_most_of_a_small_machine_and_the_environment_wins(
    monkeypatch, tmp_path
):
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    monkeypatch.setattr(sizing, "_machine_gb", lambda: 8.0)
    warehouse = _sparse(tmp_path / "warehouse.duckdb", 20_000_000_000)
    assert sized_memory_limit(None, warehouse) == "4GB"
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "6GB")
    assert sized_memory_limit(None, warehouse) == "6GB"


def test_a_large_organisation_builds_one_dbt_model_at_a_time(monkeypatch, tmp_path):
    monkeypatch.delenv(DBT_THREADS_ENV, raising=False)
    landing = tmp_path / "landing"
    _sparse(landing / "hris" / "2025-01-31" / "contracts.csv", 1_000)
    assert sized_dbt_threads(landing, None) == "2"
    _sparse(landing / "hris" / "2025-01-31" / "contracts.csv", 2_500_000_000)
    assert sized_dbt_threads(landing, None) == "1"
    monkeypatch.setenv(DBT_THREADS_ENV, "3")
    assert sized_dbt_threads(landing, None) == "3"
    monkeypatch.setenv(DBT_THREADS_ENV, "0")
    with pytest.raises(ValueError, match=DBT_THREADS_ENV):
        sized_dbt_threads(landing, None)


def test_a_bad_setting_stops_the_night_before_it_starts_naming_the_variable(tmp_path):
    from tests.pipeline import peoplemart

    refused = peoplemart(
        "run", "--landing", tmp_path, "--home", tmp_path / "home",
        env={DBT_THREADS_ENV: "two"},
    )  # fmt: skip
    assert refused.returncode == 2
    assert f"{DBT_THREADS_ENV} must be a whole number from 1, got 'two'" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_second_night_in_one_process_is_sized_again_not_taken_for_the_users_setting(
    monkeypatch, tmp_path
):
    # The runner puts the sized values in the environment (dbt's profile reads them there): a
    # later night of the same process must not read its predecessor's values as the user's.
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    monkeypatch.delenv(DBT_THREADS_ENV, raising=False)
    monkeypatch.setattr(sizing, "_machine_gb", lambda: 24.0)
    monkeypatch.setattr(sizing, "_written_by_sizing", {})
    small, large = tmp_path / "small", tmp_path / "large"
    _sparse(small / "hris" / "contracts.csv", 1_000)
    _sparse(large / "hris" / "contracts.csv", 2_500_000_000)
    for landing, expected in [
        (small, {MEMORY_LIMIT_ENV: "2.8GB", DBT_THREADS_ENV: "2"}),
        (large, {MEMORY_LIMIT_ENV: "10GB", DBT_THREADS_ENV: "1"}),
        (small, {MEMORY_LIMIT_ENV: "2.8GB", DBT_THREADS_ENV: "2"}),
    ]:
        sized = sized_environment(landing, None)
        assert sized == expected
        for name, value in sized.items():
            monkeypatch.setenv(name, value)
    # The user's own setting, set after, still wins.
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "5GB")
    assert sized_environment(large, None)[MEMORY_LIMIT_ENV] == "5GB"
