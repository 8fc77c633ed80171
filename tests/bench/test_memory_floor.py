"""The memory floor: a model's compiled SQL built under each bound in a process of its own."""

import json

import pytest

from bench.memory_floor import NoCompiledModel, compiled_sql, memory_floor
from metrics.published import connect_warehouse
from orchestration import cli


def _home(tmp_path, sql: str):
    """A home with a warehouse of three million numbers and one finished dbt build that compiled
    `fct_lists`, which holds every number in a list: it needs tens of megabytes, not fewer."""
    home = tmp_path / "home"
    home.mkdir()
    with connect_warehouse(home / "warehouse.duckdb") as con:
        con.execute("create table marts.numbers as select i from range(3000000) as r(i)")
    attempt = home / "dbt" / "targets" / "run-1-abcd1234"
    model = attempt / "compiled" / "peoplemart" / "models" / "marts" / "fct_lists.sql"
    model.parent.mkdir(parents=True)
    model.write_text(sql)
    (attempt / "run_results.json").write_text(json.dumps({"results": []}))
    return home


LISTS = 'select i % 10 as g, list(i) as l from "publishable"."marts"."numbers" group by 1'


def test_the_floor_is_the_smallest_bound_built_with_every_larger_one_built(tmp_path):
    home = _home(tmp_path, LISTS)
    result = memory_floor(home, "fct_lists", ["20MB", "1GB", "500MB"])
    tries = {t["bound"]: t for t in result["tries"]}
    assert [t["bound"] for t in result["tries"]] == ["1GB", "500MB", "20MB"]
    assert tries["1GB"]["built"] and tries["1GB"]["rows"] == 10
    assert tries["500MB"]["built"]
    assert not tries["20MB"]["built"]
    assert "Out of Memory" in tries["20MB"]["error"]
    assert result["floor"] == "500MB"
    # Read-only: the home's warehouse and its publishable file hold what they held.
    with connect_warehouse(home / "warehouse.duckdb", read_only=True) as con:
        tables = con.execute("select database_name, table_name from duckdb_tables()").fetchall()
    assert tables == [("publishable", "numbers")]


def test_a_model_that_fails_under_the_largest_bound_has_no_floor(tmp_path):
    home = _home(tmp_path, LISTS)
    result = memory_floor(home, "fct_lists", ["20MB", "10MB"])
    assert result["floor"] is None
    assert [t["built"] for t in result["tries"]] == [False, False]


def test_a_model_no_build_compiled_is_named_with_the_home(tmp_path):
    home = _home(tmp_path, LISTS)
    with pytest.raises(NoCompiledModel, match="fct_missing"):
        compiled_sql(home, "fct_missing")
    # The command says so in one line, not a traceback.
    with pytest.raises(SystemExit, match="--memory-floor: no dbt build in .* named fct_missing"):
        cli.main(["bench", "--memory-floor", "fct_missing", "--home", str(home)])


def test_the_command_writes_a_page_naming_each_bound_and_the_floor(tmp_path, monkeypatch):
    import bench.measure

    monkeypatch.setattr(bench.measure, "RESULTS", tmp_path / "results")
    home = _home(tmp_path, LISTS)
    cli.main(["bench", "--memory-floor", "fct_lists", "--home", str(home),
              "--bounds", "1GB,20MB", "--name", "floor"])  # fmt: skip
    page = (tmp_path / "results" / "floor.md").read_text()
    assert "| fct_lists | 1GB | yes |" in page
    assert "| fct_lists | 20MB | **no** |" in page
    assert "- fct_lists: floor 1GB" in page
    assert "--until" not in page, "the page shows an option this mode ignores"
