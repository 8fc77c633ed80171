"""Every DuckDB connection of a night is bounded the way dbt's profile is."""

import duckdb
import pytest

from ingestion.duckdb_memory import (
    MEMORY_LIMIT_ENV,
    STREAMING_MEMORY_LIMIT,
    bounded_connect,
    limit_bytes,
    memory_limit,
    streaming_limit,
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
    assert memory_limit() == "2.8GB"
    with bounded_connect(tmp_path / "w.duckdb") as con:
        assert _near(con, 2_800_000_000)


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


@pytest.mark.parametrize("value", ["3 gigs", "lots", "GB", "3", "3.5.5GB"])
def test_a_limit_duckdb_cannot_read_is_refused_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, value)
    with pytest.raises(ValueError, match=MEMORY_LIMIT_ENV):
        bounded_connect()


@pytest.mark.parametrize(
    ("night", "copy"), [("3GB", "1.5GB"), ("10GB", "1.5GB"), ("1GB", "1GB"), ("1400MiB", "1400MiB")]
)
def test_a_copy_gets_the_nights_bound_at_most_the_streaming_bound(monkeypatch, night, copy):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, night)
    assert STREAMING_MEMORY_LIMIT == "1.5GB"
    assert streaming_limit() == copy


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        ("3GB", 3e9),
        ("1.5GB", 1.5e9),
        ("2GiB", 2**31),
        ("512MB", 512e6),
        ("4g", 4e9),
        ("10 GB", 1e10),
    ],
)
def test_a_bound_reads_in_bytes_as_duckdb_reads_it(limit, expected):
    assert limit_bytes(limit) == expected


def test_a_bound_in_an_unknown_unit_is_refused():
    with pytest.raises(ValueError, match=MEMORY_LIMIT_ENV):
        limit_bytes("3 gigs")
