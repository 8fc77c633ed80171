"""The gate's grain check counts distinct keys as rows less repeated rows, found by hashing the
key first: it must count exactly what `count(distinct key)` counts, nulls included."""

import duckdb
import pytest

from quality.suites import _repeated_rows

ROWS = (
    "(1, 'a'), (1, 'a'), (1, 'a'), (2, null), (2, null), (3, 'b'), (null, null), (null, null), "
    "(4, 'c')"
)


@pytest.mark.parametrize(
    ("key", "distinct"),
    [(("x", "y"), 5), (("x",), 5), (("y",), 4)],
)
def test_distinct_keys_are_rows_less_repeated_rows(key, distinct):
    con = duckdb.connect()
    con.execute(f"create table t as select * from (values {ROWS}) as v(x, y)")
    columns = ", ".join(key)
    [(counted, expected)] = con.sql(
        f"select count(*) - ({_repeated_rows('t', key)}), "
        f"count(distinct ({columns}{',' if len(key) == 1 else ''})) from t"
    ).fetchall()
    assert counted == expected == distinct


def test_a_table_without_repeated_keys_has_none():
    con = duckdb.connect()
    con.execute("create table t as select range as x, range % 7 as y from range(10000)")
    assert con.sql(f"select ({_repeated_rows('t', ('x', 'y'))})").fetchall() == [(0,)]
