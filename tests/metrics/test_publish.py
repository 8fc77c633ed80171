"""Write, audit, publish: a failed audit leaves the last good publication in place."""

import duckdb
import pytest

import metrics.publish
from ingestion.duckdb_memory import MEMORY_LIMIT_ENV
from metrics.publish import (
    PREVIOUS,
    SERVING,
    PublishError,
    publish,
    remove_people_from_old_copies,
)
from metrics.published import PUBLISHABLE_FILE, connect_warehouse


def warehouse(home, extra_column: str | None = None):
    """A warehouse with a restricted table, its publishable file with one mart."""
    home.mkdir(exist_ok=True)
    with connect_warehouse(home / "warehouse.duckdb") as con:
        con.execute("create schema if not exists restricted")
        con.execute("create or replace table restricted.people as select date '1990-01-01' as d")
        column = f", 'x' as {extra_column}" if extra_column else ""
        con.execute(
            f"create or replace table marts.fct_x as select range as n{column} from range(5)"
        )


def test_a_publication_carries_the_run_id_and_only_publishable_schemas(tmp_path):
    warehouse(tmp_path)
    publication = publish(tmp_path, "run-a")
    assert publication.tables == {"marts.fct_x": 5}
    with duckdb.connect(str(tmp_path / SERVING), read_only=True) as con:
        assert con.sql("select distinct run_id from marts.fct_x").fetchall() == [("run-a",)]
        schemas = {r[0] for r in con.sql("select schema_name from duckdb_tables()").fetchall()}
        [(tags,)] = con.sql(
            "select tags from duckdb_databases() where database_name = 'serving'"
        ).fetchall()
    assert schemas == {"marts"} and tags["storage_version"].startswith("v1.4")
    export = tmp_path / "exports" / "run-a" / "marts.fct_x.parquet"
    assert duckdb.sql(f"select sum(n) from '{export}'").fetchall() == [(10,)]
    # Compressed with zstd (the million-employee set did not fit on disk with snappy).
    codecs = duckdb.sql(f"select distinct compression from parquet_metadata('{export}')")
    assert codecs.fetchall() == [("ZSTD",)]
    assert (tmp_path / "exports" / "LATEST").read_text().strip() == "run-a"


def test_the_publication_is_the_publishable_files_tables_without_its_views(tmp_path):
    """dbt writes a view or two beside the marts (read through both files' catalogs): a
    reader of the serving file could not read them, so they are left out."""
    warehouse(tmp_path)
    with connect_warehouse(tmp_path / "warehouse.duckdb") as con:
        con.execute("create view marts.v_x as select n from publishable.marts.fct_x")
        con.execute("create table kpi.metrics_year as select 1.5 as value")
    publication = publish(tmp_path, "run-a")
    assert publication.tables == {"kpi.metrics_year": 1, "marts.fct_x": 5}
    with duckdb.connect(str(tmp_path / SERVING), read_only=True) as con:
        assert con.sql("select count(*) from duckdb_views() where not internal").fetchall() == [
            (0,)
        ]
        assert con.sql("select value, run_id from kpi.metrics_year").fetchall() == [(1.5, "run-a")]


def test_a_table_outside_the_published_schemas_in_the_publishable_file_is_refused(tmp_path):
    warehouse(tmp_path)
    publish(tmp_path, "run-a")
    with duckdb.connect(str(tmp_path / PUBLISHABLE_FILE)) as con:
        con.execute("create table main.scratch as select 'x' as anything")
    with pytest.raises(PublishError, match="outside marts, survey, kpi: main.scratch"):
        publish(tmp_path, "run-b")
    with duckdb.connect(str(tmp_path / SERVING), read_only=True) as con:
        assert con.sql("select distinct run_id from marts.fct_x").fetchall() == [("run-a",)]
    assert not (tmp_path / f"{SERVING}.next").exists()


def test_the_run_id_columns_together_may_exceed_the_memory_bound(tmp_path, monkeypatch):
    """An added column stays in memory until checkpointed, a byte per row: 2 x 40 million rows
    are more than a 64MB bound, one table at a time is not (at a million employees the KPI
    tables' billion rows ran out of memory when checkpointed only at the end)."""
    warehouse(tmp_path)
    with connect_warehouse(tmp_path / "warehouse.duckdb") as con:
        for table in ("fct_big_a", "fct_big_b"):
            con.execute(f"create table marts.{table} as select range as n from range(40000000)")
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "64MB")
    publication = publish(tmp_path, "run-a")
    assert (
        publication.tables["marts.fct_big_a"] == publication.tables["marts.fct_big_b"] == 40_000_000
    )


def test_the_run_id_is_an_enum_of_its_one_value_and_reads_as_text_everywhere(tmp_path):
    warehouse(tmp_path)
    run = "3f1c2b9e-run-a"
    publish(tmp_path, run)
    with duckdb.connect(str(tmp_path / SERVING), read_only=True) as con:
        [(kind, value, same)] = con.sql(
            "select any_value(typeof(run_id)), any_value(run_id), "
            "bool_and(run_id = $run) from marts.fct_x",
            params={"run": run},
        ).fetchall()
    assert (kind, value, same) == ("ENUM('3f1c2b9e-run-a')", run, True)
    export = tmp_path / "exports" / run / "marts.fct_x.parquet"
    assert duckdb.sql(f"select distinct typeof(run_id), run_id from '{export}'").fetchall() == [
        ("VARCHAR", run)
    ]


def test_the_previous_publication_is_kept_for_rollback_and_older_exports_go(tmp_path):
    warehouse(tmp_path)
    for run in ("run-a", "run-b", "run-c"):
        publish(tmp_path, run)
    with duckdb.connect(str(tmp_path / PREVIOUS), read_only=True) as con:
        assert con.sql("select distinct run_id from marts.fct_x").fetchall() == [("run-b",)]
    sets = {p.name for p in (tmp_path / "exports").iterdir() if p.is_dir()}
    assert sets == {"run-b", "run-c"}


def test_a_partial_export_left_by_a_killed_night_does_not_displace_the_rollback_set(tmp_path):
    warehouse(tmp_path)
    publish(tmp_path, "run-a")
    (tmp_path / "exports" / "run-killed.partial").mkdir()
    publish(tmp_path, "run-b")
    sets = {p.name for p in (tmp_path / "exports").iterdir() if p.is_dir()}
    assert sets == {"run-a", "run-b"}


def test_a_forbidden_column_fails_the_audit_and_changes_nothing(tmp_path):
    warehouse(tmp_path)
    publish(tmp_path, "run-a")
    warehouse(tmp_path, extra_column="birth_date")
    with pytest.raises(PublishError, match="birth_date"):
        publish(tmp_path, "run-b")
    with duckdb.connect(str(tmp_path / SERVING), read_only=True) as con:
        assert con.sql("select distinct run_id from marts.fct_x").fetchall() == [("run-a",)]
    assert (tmp_path / "exports" / "LATEST").read_text().strip() == "run-a"
    assert not (tmp_path / f"{SERVING}.next").exists()


def test_a_failed_export_leaves_neither_the_staged_copy_nor_a_partial_export(tmp_path, monkeypatch):
    warehouse(tmp_path)
    publish(tmp_path, "run-a")
    monkeypatch.setattr(metrics.publish, "PARQUET_OPTIONS", "format parquet, compression nonsense")
    with pytest.raises(duckdb.Error, match="compression"):
        publish(tmp_path, "run-b")
    assert sorted(p.name for p in tmp_path.iterdir() if "serving" in p.name) == [SERVING]
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == ["LATEST", "run-a"]
    with duckdb.connect(str(tmp_path / SERVING), read_only=True) as con:
        assert con.sql("select distinct run_id from marts.fct_x").fetchall() == [("run-a",)]


def test_retention_empties_a_person_from_old_exports_and_leaves_other_files_alone(tmp_path):
    """p1 leaves: their own row goes, references to them are emptied (a row with no person of
    its own included), their manager group's survey row goes; a unit that happens to share the
    name stays. A file naming people but not p1 is not rewritten."""
    warehouse(tmp_path)
    with connect_warehouse(tmp_path / "warehouse.duckdb") as con:
        con.execute(
            "create table marts.fct_people as select * from (values ('p1', null), "
            "('p2', 'p1'), ('p3', 'p2'), (null, 'p1')) as t(employee_key, manager_employee_key)"
        )
        con.execute(
            "create table marts.rpt_groups as select * from (values ('manager', 'p1', 5), "
            "('manager', 'p2', 6), ('org_unit', 'p1', 7)) as t(attribute, attribute_value, n)"
        )
        con.execute("create table marts.fct_others as select 'p9' as employee_key")
    publish(tmp_path, "run-a")
    exports = tmp_path / "exports" / "run-a"
    untouched = {name: (exports / name).stat().st_mtime_ns
                 for name in ("marts.fct_x.parquet", "marts.fct_others.parquet")}  # fmt: skip
    removed = remove_people_from_old_copies(tmp_path, ["p1"])
    assert removed == {
        "exports/run-a/marts.fct_people.parquet": 3,
        "exports/run-a/marts.rpt_groups.parquet": 1,
    }
    assert {name: (exports / name).stat().st_mtime_ns for name in untouched} == untouched
    with duckdb.connect() as con:
        people = con.sql(
            f"select employee_key, manager_employee_key, run_id "
            f"from '{exports / 'marts.fct_people.parquet'}' order by 1 nulls last"
        ).fetchall()
        groups = con.sql(
            f"select attribute, attribute_value from '{exports / 'marts.rpt_groups.parquet'}' "
            "order by 1"
        ).fetchall()
    assert people == [("p2", None, "run-a"), ("p3", "p2", "run-a"), (None, None, "run-a")]
    assert groups == [("manager", "p2"), ("org_unit", "p1")]
