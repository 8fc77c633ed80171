"""Every DuckDB connection of a night is bounded the way dbt's profile is."""

import duckdb
import pytest

from ingestion import duckdb_memory
from ingestion.duckdb_memory import (
    DBT_THREADS_ENV,
    MEMORY_LIMIT_ENV,
    bounded_connect,
    memory_limit,
    sized_dbt_threads,
    sized_memory_limit,
)


def _near(con: duckdb.DuckDBPyConnection, expected_bytes: int) -> bool:
    # DuckDB reports the setting in GiB cut to one decimal ("2.7 GiB" for 3GB); unbounded it would
    # be 80 % of the machine.
    text = con.execute("select current_setting('memory_limit')").fetchall()[0][0]
    number, unit = text.split()
    actual = float(number) * {"MiB": 2**20, "GiB": 2**30}[unit]
    return abs(actual - expected_bytes) <= 0.1 * 2**30


def test_the_environment_bounds_an_in_memory_connection(monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "1800MB")
    with bounded_connect() as con:
        assert _near(con, 1_800_000_000)


def test_without_the_environment_the_bound_is_dbts_default(monkeypatch, tmp_path):
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    assert memory_limit() == "3GB"
    with bounded_connect(tmp_path / "w.duckdb") as con:
        assert _near(con, 3_000_000_000)


def test_a_file_already_open_in_the_process_can_be_opened_again(tmp_path):
    # The bound is set after connecting: DuckDB refuses a second connection to an open file
    # whose connect config differs, which a config-time bound would cause.
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as writer:
        writer.execute("create table t as select 1 as x")
        with bounded_connect(path, limit="1GB") as again:
            assert again.execute("select x from t").fetchall() == [(1,)]


def test_a_read_only_connection_cannot_write(tmp_path):
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    with bounded_connect(path, read_only=True) as con, pytest.raises(duckdb.Error):
        con.execute("create table t (x int)")


@pytest.mark.parametrize("value", ["3 gigs", "lots", "GB"])
def test_a_limit_duckdb_cannot_read_is_refused_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, value)
    with pytest.raises(ValueError, match=MEMORY_LIMIT_ENV):
        bounded_connect()


def _sparse(path, size: int):
    # A sparse file: its size counts, no disk is used.
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def test_a_night_is_sized_by_its_extracts_or_else_its_warehouse(monkeypatch, tmp_path):
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    monkeypatch.setattr(duckdb_memory, "_machine_gb", lambda: 24.0)
    landing, warehouse = tmp_path / "landing", tmp_path / "home" / "warehouse.duckdb"
    _sparse(landing / "hris" / "2025-01-31" / "contracts.csv", 2_499_999_999)
    assert sized_memory_limit(landing, warehouse) == "3GB"
    _sparse(landing / "finance" / "2025-01-31" / "actuals.csv", 1)
    assert sized_memory_limit(landing, warehouse) == "10GB"
    # A publish-only night reads no landing: a warehouse of a large organisation stands in.
    _sparse(warehouse, 11_999_999_999)
    assert sized_memory_limit(None, warehouse) == "3GB"
    _sparse(warehouse, 12_000_000_000)
    assert sized_memory_limit(None, warehouse) == "10GB"


def test_the_large_bound_leaves_most_of_a_small_machine_and_the_environment_wins(
    monkeypatch, tmp_path
):
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    monkeypatch.setattr(duckdb_memory, "_machine_gb", lambda: 8.0)
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
