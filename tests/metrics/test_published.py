"""Where the published schemas live: the publishable file beside the warehouse, seen through a
warehouse connection as if they were the warehouse's own."""

import duckdb
import pytest

from metrics.published import (
    PUBLISHABLE,
    PUBLISHABLE_FILE,
    STORAGE_VERSION,
    MartsNotBuilt,
    connect_warehouse,
    published_tables,
    require_built_marts,
    start_publishable_anew,
)


def tables_of(path) -> set[tuple[str, str]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return set(con.sql("select schema_name, table_name from duckdb_tables()").fetchall())


def test_published_schemas_are_written_to_the_publishable_file_and_the_rest_to_the_warehouse(
    tmp_path,
):
    warehouse = tmp_path / "warehouse.duckdb"
    with connect_warehouse(warehouse) as con:
        con.execute("create schema if not exists kpi")
        con.execute("create table kpi.metrics_year as select 1 as value")
        con.execute("create table marts.dim_x as select 'a' as name")
        con.execute("create schema restricted")
        con.execute("create table restricted.people as select date '1990-01-01' as birth_date")
        con.execute("create temp table scratch as select 1 as n")
        assert con.sql("select name from marts.dim_x").fetchall() == [("a",)]
        assert published_tables(con) == [("kpi", "metrics_year"), ("marts", "dim_x")]
        [(version,)] = con.sql(
            f"select tags['storage_version'] from duckdb_databases() "
            f"where database_name = '{PUBLISHABLE}'"
        ).fetchall()
    assert version.startswith(STORAGE_VERSION)
    assert tables_of(tmp_path / PUBLISHABLE_FILE) == {("kpi", "metrics_year"), ("marts", "dim_x")}
    assert tables_of(warehouse) == {("restricted", "people")}


def test_a_reader_attaches_the_file_read_only_and_without_it_sees_the_warehouse_alone(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.fct_y as select 1 as n")
    with connect_warehouse(warehouse, read_only=True) as con:
        assert published_tables(con) == [("marts", "fct_y")]
    assert not (tmp_path / PUBLISHABLE_FILE).exists()
    with connect_warehouse(warehouse) as con:
        con.execute("create table marts.fct_z as select 2 as n")
    with connect_warehouse(warehouse, read_only=True) as con:
        # The publishable file's schema comes first: the warehouse's own marts are not seen.
        assert con.sql("select n from marts.fct_z").fetchall() == [(2,)]
        assert published_tables(con) == [("marts", "fct_z")]
        [(writable,)] = con.sql(
            f"select not readonly from duckdb_databases() where database_name = '{PUBLISHABLE}'"
        ).fetchall()
    assert not writable


def test_a_full_build_starts_from_an_empty_publishable_file(tmp_path):
    """A copy of the file is what gets published, free blocks included: tables an earlier night
    wrote (and dropped) must not be in it. An earlier version's marts in the warehouse go too."""
    warehouse = tmp_path / "warehouse.duckdb"
    with connect_warehouse(warehouse) as con:
        con.execute("create table marts.fct_old as select range as n from range(100000)")
        con.execute("create schema main_marts_keep")
        con.execute("create table main_marts_keep.t as select 1 as n")
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.fct_legacy as select 1 as n")
    (tmp_path / (PUBLISHABLE_FILE + ".wal")).write_bytes(b"left by a killed writer")
    start_publishable_anew(warehouse)
    assert not (tmp_path / PUBLISHABLE_FILE).exists()
    assert not (tmp_path / (PUBLISHABLE_FILE + ".wal")).exists()
    assert tables_of(warehouse) == {("main_marts_keep", "t")}
    with connect_warehouse(warehouse) as con:
        assert published_tables(con) == []
    start_publishable_anew(tmp_path / "nothing_yet" / "warehouse.duckdb")


def test_the_metrics_refuse_a_publishable_file_without_marts(tmp_path):
    """A warehouse an earlier version built holds its marts itself; the KPI tables look for them
    in the publishable file, which the first writer of the metrics creates empty."""
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.dim_org_units as select 'U1' as org_unit_id")
    with connect_warehouse(warehouse) as con:
        con.execute("create table kpi.kpi_catalog as select 'headcount' as metric")
        with pytest.raises(MartsNotBuilt, match=r"no marts in .*publishable\.duckdb: .*earlier"):
            require_built_marts(con, warehouse)
        con.execute("create table marts.dim_org_units as select 'U1' as org_unit_id")
        require_built_marts(con, warehouse)
