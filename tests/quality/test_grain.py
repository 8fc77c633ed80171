"""The gate's grain check counts distinct keys as rows less repeated rows, found by hashing the
key first or by counting a month column as bits: it must count exactly what
`count(distinct key)` counts, nulls included."""

import duckdb
import pytest

from quality.grain import repeated_rows

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
        f"select count(*) - ({repeated_rows('t', key)}), "
        f"count(distinct ({columns}{',' if len(key) == 1 else ''})) from t"
    ).fetchall()
    assert counted == expected == distinct


def test_a_table_without_repeated_keys_has_none():
    con = duckdb.connect()
    con.execute("create table t as select range as x, range % 7 as y from range(10000)")
    assert con.sql(f"select ({repeated_rows('t', ('x', 'y'))})").fetchall() == [(0,)]


# Months over more than one 64-month block (2019 and 2024-2025), a day inside a month, null
# months and null segments.
MONTH_ROWS = (
    "('s', date '2024-01-01'), ('s', date '2024-01-01'), ('s', date '2024-01-15'), "
    "('s', date '2019-01-01'), ('s', date '2025-03-01'), ('s', date '2025-03-01'), "
    "('s', date '2025-03-01'), ('t', date '2024-01-01'), ('s', null), ('s', null), "
    "('t', null), (null, date '2024-01-01'), (null, date '2024-01-01'), (null, null)"
)


def test_a_month_column_counted_as_bits_counts_the_same_distinct_keys():
    con = duckdb.connect()
    con.execute(f"create table t as select * from (values {MONTH_ROWS}) as v(segment, month)")
    [(counted, expected)] = con.sql(
        f"select count(*) - ({repeated_rows('t', ('segment', 'month'), 'month')}), "
        "count(distinct (segment, month)) from t"
    ).fetchall()
    assert counted == expected == 9
    con.execute("delete from t where rowid in (1, 5, 6, 9, 12)")
    assert con.sql(f"select ({repeated_rows('t', ('segment', 'month'), 'month')})").fetchall() == [
        (0,)
    ]


# Respondents with constructs: a copied row, a repeated null construct, a null respondent twice,
# and more than 64 members (two blocks of bits).
MEMBER_ROWS = (
    "('r1', 'engagement'), ('r1', 'engagement'), ('r1', 'enps'), ('r2', 'engagement'), "
    "('r2', null), ('r2', null), ('r3', null), (null, 'enps'), (null, 'enps'), (null, 'growth')"
)


def test_a_member_column_counted_as_bits_counts_the_same_distinct_keys():
    con = duckdb.connect()
    con.execute(
        f"create table t as select * from (values {MEMBER_ROWS}) as v(respondent, construct) "
        "union all select 'r4', 'item_' || range from range(70)"
    )
    key = ("respondent", "construct")
    [(counted, expected)] = con.sql(
        f"select count(*) - ({repeated_rows('t', key, member_column='construct')}), "
        "count(distinct (respondent, construct)) from t"
    ).fetchall()
    assert counted == expected == 7 + 70
    con.execute("insert into t values ('r4', 'item_3'), ('r4', 'item_68')")
    assert con.sql(f"select ({repeated_rows('t', key, member_column='construct')})").fetchall() == [
        (3 + 2,)
    ]
