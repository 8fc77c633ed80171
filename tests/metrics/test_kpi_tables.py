"""How the KPI tables answer their questions without changing a figure: splits summed from the
finest cells only where every split is the sum of its cells, and the segment calendar's
measures computed from its shape. (That the tables equal MetricFlow's own answers is tested
end to end: tests/e2e/test_publish.py, fast path equals MetricFlow.)"""

import copy
import datetime as dt
import json
import re

import duckdb
import polars as pl
import pytest

from metrics import kpi_tables
from metrics.catalog import PROJECT_ROOT, build_catalog
from metrics.kpi_tables import (
    LAST_MONTH,
    SUMMED,
    MetricSql,
    _Cells,
    _facts_from,
    _FactsRead,
    _grouping_set,
    _ModelCells,
    _month_rollup,
    _Plan,
    _rolls_up,
    _shared_month_cells,
    _summed_from_cells,
    metric_groups,
    month_cell_companions,
)
from metrics.semantics import Semantics

MANIFEST = PROJECT_ROOT / "dbt_project" / "target" / "semantic_manifest.json"


def decisions(manifest: dict) -> dict[str, bool]:
    semantics = Semantics(duckdb.connect(), manifest)
    return {
        metric: _rolls_up(group, semantics)
        for group in metric_groups(manifest, build_catalog(manifest))
        for metric in group.metrics
    }


def test_sums_roll_up_and_medians_distinct_counts_and_rolling_windows_do_not():
    rolled = decisions(json.loads(MANIFEST.read_text()))
    # Sums, a month-end headcount (semi-additive over time only) and rates built from them.
    for metric in ("headcount", "leavers", "turnover_rate", "verzuim_pct", "average_fte",
                   "revenue_per_fte", "gap_fte"):  # fmt: skip
        assert rolled[metric], metric
    # The median of a split is not built from the medians of its cells, nor a distinct count
    # from distinct counts; a rolling window is asked for the whole organisation only.
    for metric in ("time_to_fill_median", "turnover_rate_rolling_12m"):
        assert not rolled[metric], metric


def test_an_input_with_its_own_filter_or_offset_is_asked_per_split():
    manifest = json.loads(MANIFEST.read_text())
    assert decisions(manifest)["turnover_rate"]
    for change in ({"filter": {"where_filters": [{"where_sql_template": "1 = 1"}]}},
                   {"offset_window": {"count": 1, "granularity": "month"}}):  # fmt: skip
        changed = copy.deepcopy(manifest)
        metric = next(m for m in changed["metrics"] if m["name"] == "turnover_rate")
        metric["type_params"]["metrics"][0].update(change)
        assert not decisions(changed)["turnover_rate"], change


def month_rollups(manifest: dict) -> dict[str, dict | None]:
    semantics = Semantics(duckdb.connect(), manifest)
    return {
        metric: _month_rollup(group, semantics, manifest)
        for group in metric_groups(manifest, build_catalog(manifest))
        for metric in group.metrics
    }


def test_quarters_and_years_follow_from_month_cells_only_where_every_leaf_does():
    """A quarter's leavers, sick spells and revenue are the sums of its months'; its headcount
    is its last month's (a non-additive dimension), which month cells give too when every leaf
    comes from the headcount's own model. A measure filled with zero where empty, a rolling
    window and a month-end figure beside another model's measures are asked per grain."""
    manifest = json.loads(MANIFEST.read_text())
    rollups = month_rollups(manifest)
    for metric in ("sick_spells", "average_fte", "turnover_rate", "revenue_per_fte"):
        assert set(rollups[metric].values()) == {SUMMED}, metric
    assert rollups["headcount"]["headcount"] == LAST_MONTH
    assert rollups["leavers"]["leavers"] == SUMMED
    assert set(rollups["span_of_control"].values()) == {LAST_MONTH}
    for metric in ("verzuim_pct", "turnover_rate_rolling_12m"):
        assert rollups[metric] is None, metric
    for change in ({"fill_nulls_with": 0}, {"join_to_timespine": True}):
        changed = copy.deepcopy(manifest)
        spells = next(m for m in changed["metrics"] if m["name"] == "sick_spells")
        spells["type_params"]["measure"].update(change)
        assert month_rollups(changed)["sick_spells"] is None, change
    # The period's last month is the last month with a row of the month-end figure's model: a
    # cell of another model's measure could be later, so such a group is asked per grain.
    changed = copy.deepcopy(manifest)
    for model in changed["semantic_models"]:
        for measure in model["measures"]:
            if measure["name"] == "employed_days":
                measure["non_additive_dimension"] = {"name": model["defaults"][
                    "agg_time_dimension"], "window_choice": "max"}  # fmt: skip
    assert set(month_rollups(manifest)["meldingsfrequentie"].values()) == {SUMMED}
    assert month_rollups(changed)["meldingsfrequentie"] is None
    assert month_rollups(changed)["headcount"]["employed_days"] == LAST_MONTH
    windowed = copy.deepcopy(manifest)
    for model in windowed["semantic_models"]:
        for measure in model["measures"]:
            if measure["name"] == "headcount_end":
                measure["non_additive_dimension"]["window_choice"] = "min"
    assert month_rollups(windowed)["headcount"] is None


def test_groups_of_the_same_models_share_one_query_of_month_cells():
    """The workforce group and the daily averages built on the same facts are summed from one
    set of month cells holding both groups' leaves; other models' groups have their own."""
    manifest = json.loads(MANIFEST.read_text())
    semantics = Semantics(duckdb.connect(), manifest)
    plans = [
        _Plan.of(g, semantics, manifest) for g in metric_groups(manifest, build_catalog(manifest))
    ]
    shared = _shared_month_cells(plans, semantics, None, manifest)
    index = {
        metric: i for i, plan in enumerate(plans) for metric in plan.group.metrics if i in shared
    }
    workforce = shared[index["headcount"]]
    assert shared[index["average_fte"]] is workforce
    assert {"headcount", "employed_days", "fte_days", "leavers"} <= set(workforce._leaves)
    assert workforce.rollup["headcount"] == LAST_MONTH
    assert shared[index["revenue"]] is not workforce
    assert shared[index["revenue_per_fte"]] not in (workforce, shared[index["revenue"]])
    # Each group sums its own leaves from the shared cells.
    assert "headcount" not in plans[index["average_fte"]].leaves


def quarter_from_months(rollup: dict) -> dict:
    """Q1 2024 of a headcount (month-end) and hires (summed) per unit, from month cells: unit
    A has cells in all three months, unit B in January and February only."""
    con = duckdb.connect()
    con.execute(
        "create temp table kpi_cells_org as select * from (values "
        "(date '2024-01-01', 'A', 10, 1), (date '2024-02-01', 'A', 11, 2), "
        "(date '2024-03-01', 'A', 12, 0), (date '2024-01-01', 'B', 5, 3), "
        "(date '2024-02-01', 'B', 6, null)) "
        "as t(metric_time__month, segment__org_level_4, headcount, hires)"
    )
    cells = _Cells(None, None, [], "metric_time__month", [], rollup)
    leaves = list(rollup)
    sql = _summed_from_cells(cells, "kpi_cells_org", [["metric_time__quarter",
                             "segment__org_level_4"]], "quarter", leaves)  # fmt: skip
    rows = con.sql(
        f"select * exclude (kpi_grouping_set) from ({sql}) order by segment__org_level_4"
    ).fetchall()
    return {row[1]: row[2:] for row in rows}


def test_a_month_end_figure_of_a_quarter_is_its_last_months_and_null_for_a_unit_without_one():
    summed_and_last = quarter_from_months({"headcount": LAST_MONTH, "hires": SUMMED})
    assert summed_and_last == {"A": (12, 3), "B": (None, 3)}
    # With month-end figures only, a unit has a row only where it has the last month (as in
    # MetricFlow's SQL, which then has no other measure to outer-join).
    assert quarter_from_months({"headcount": LAST_MONTH}) == {"A": (12,)}
    assert quarter_from_months({"hires": SUMMED}) == {"A": (3,), "B": (3,)}


def test_the_splits_of_one_cell_table_are_summed_in_one_query_and_told_apart():
    """Total, by org unit and by job family from one table: a null unit (people directly in a
    unit above the level) is a member of its own, not the total; each answer has its own
    split column only."""
    con = duckdb.connect()
    con.execute(
        "create temp table kpi_cells_org as select * from (values "
        "(date '2024-01-01', 'A', 'x', 10), (date '2024-01-01', null, 'x', 5), "
        "(date '2024-01-01', 'A', 'y', 1), (date '2024-02-01', 'A', 'x', 7)) "
        "as t(metric_time__month, segment__org_level_4, segment__job_family, heads)"
    )
    cells = _Cells(None, None, [], "metric_time__month", [], {})
    time = "metric_time__month"
    group_bys = [[time], [time, "segment__org_level_4"], [time, "segment__job_family"]]
    summed = con.sql(_summed_from_cells(cells, "kpi_cells_org", group_bys, "month", ["heads"])).pl()
    splits = ["segment__org_level_4", "segment__job_family"]

    def rows(group_by):
        answer = _grouping_set(summed, splits, group_by)
        assert answer.columns == [*group_by, "heads"]
        return sorted(answer.iter_rows(), key=lambda row: tuple(str(v) for v in row))

    january, february = dt.date(2024, 1, 1), dt.date(2024, 2, 1)
    assert rows(group_bys[0]) == [(january, 16), (february, 7)]
    assert rows(group_bys[1]) == [(january, "A", 11), (january, None, 5), (february, "A", 7)]
    assert rows(group_bys[2]) == [(january, "x", 15), (january, "y", 1), (february, "x", 7)]


@pytest.fixture
def calendar() -> Semantics:
    """A calendar of January to March 2024; three workforce segments, two of them in unit A."""
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        "create table marts.dim_segments as select * from (values "
        "('s1', 'workforce', 'A'), ('s2', 'workforce', 'A'), ('s3', 'workforce', 'B'), "
        "('v1', 'vacancy', 'A')) as t(segment_key, segment_kind, org_unit_id)"
    )
    con.execute(
        "create table marts.fct_segment_calendar_monthly as "
        "select segment_key, month_start_date from marts.dim_segments, (values "
        "(date '2024-01-01'), (date '2024-02-01'), (date '2024-03-01')) as m(month_start_date) "
        "where segment_kind = 'workforce'"
    )
    return Semantics(con, json.loads(MANIFEST.read_text()))


def values(calendar: Semantics, name: str, grain: str, by: str | None = None) -> dict:
    """A calendar metric per period (and member), with no facts: the calendar's rows only."""
    group_by = [f"metric_time__{grain}"] + ([f"segment__{by}"] if by else [])
    empty = pl.DataFrame(schema={c: pl.Date if c == group_by[0] else pl.String for c in group_by})
    frame = calendar.with_calendar(empty, group_by, grain, [name])
    return {tuple(row[:-1]): row[-1] for row in frame.select(*frame.columns[:-1], name).rows()}


def test_calendar_measures_are_computed_from_the_calendars_shape(calendar):
    january, february, march = (dt.date(2024, m, 1) for m in (1, 2, 3))
    # 31 + 29 + 31 days; per segment-month, so three segments count each day three times.
    assert values(calendar, "calendar_days", "quarter") == {(january,): 3 * 91}
    assert values(calendar, "calendar_segments", "month") == {
        (month,): 3 for month in (january, february, march)
    }
    assert values(calendar, "calendar_days", "month", by="org_unit") == {
        (january, "A"): 2 * 31, (january, "B"): 31,
        (february, "A"): 2 * 29, (february, "B"): 29,
        (march, "A"): 2 * 31, (march, "B"): 31,
    }  # fmt: skip


def test_the_segments_counted_are_the_calendars_own(calendar):
    # Which segments the calendar holds is the dbt model's rule; the tables count its rows.
    calendar.con.execute("delete from marts.fct_segment_calendar_monthly where segment_key = 's2'")
    january = dt.date(2024, 1, 1)
    by_unit = values(calendar, "calendar_days", "month", by="org_unit")
    assert (by_unit[(january, "A")], by_unit[(january, "B")]) == (31, 31)


def test_a_rolling_window_runs_on_eleven_months_past_the_calendar(calendar):
    covered = values(calendar, "rolling_12m_months_covered", "month")
    assert covered[(dt.date(2024, 1, 1),)] == 1
    assert covered[(dt.date(2024, 3, 1),)] == 3
    assert covered[(dt.date(2024, 12, 1),)] == 3
    # The window ending February 2025 reaches back to March 2024.
    assert covered[(dt.date(2025, 2, 1),)] == 1
    assert (dt.date(2025, 3, 1),) not in covered
    assert len(covered) == 14


def test_rolling_sums_of_additive_measures_are_summed_from_monthly_figures():
    manifest = json.loads(MANIFEST.read_text())
    windowed = Semantics(duckdb.connect(), manifest).windowed
    assert {"leaver_count_rolling_12m", "employed_days_rolling_12m"} <= windowed.keys()
    # The calendar's own rolling lengths are computed from its shape instead.
    assert "rolling_12m_months_covered" not in windowed
    metric = next(m for m in manifest["metrics"] if m["name"] == "leaver_count_rolling_12m")
    metric["filter"] = {"where_filters": [{"where_sql_template": "1 = 1"}]}
    assert "leaver_count_rolling_12m" not in Semantics(duckdb.connect(), manifest).windowed


def test_every_semantic_model_cte_is_read_in_place_and_the_sql_still_parses():
    """MetricFlow's CTEs are marked NOT MATERIALIZED (metrics/kpi_tables.py, _inlined): none is
    left for DuckDB to materialise, and DuckDB still parses the statement."""
    sql = MetricSql(MANIFEST.parent.parent).sql(
        ["headcount", "leavers"], ["metric_time__month", "segment__org_level_1"]
    )
    ctes = re.findall(r"(\w+_cte) AS (NOT MATERIALIZED )?\(", sql)
    assert len(ctes) >= 2
    assert all(marked for _, marked in ctes), ctes
    [[parsed]] = duckdb.sql("select json_serialize_sql($sql)", params={"sql": sql}).fetchall()
    assert json.loads(parsed)["error"] is False


def test_a_later_nights_sql_reads_each_semantic_model_from_the_first_period_computed():
    """Every semantic model with measures, asked through one of its metrics: its read is cut on
    each time axis its measures are aggregated on (a sick spell by its start or its end), a
    rolling metric's a year earlier, and DuckDB still parses the statement. A read left uncut
    would give the same figures slower; this pins that MetricFlow's SQL is still recognised."""
    manifest = json.loads(MANIFEST.read_text())
    since, year_before = dt.date(2024, 1, 1), dt.date(2023, 1, 1)
    generator = MetricSql(MANIFEST.parent.parent)
    generator.facts = _FactsRead(
        own=_facts_from(manifest, since),
        window_from=_facts_from(manifest, year_before),
        windowed=frozenset({"leaver_count_rolling_12m"}),
    )
    measures = {
        m["name"]: model for model in manifest["semantic_models"] for m in model["measures"]
    }
    asked = {}
    for metric in manifest["metrics"]:
        if metric["type"] == "simple":
            model = measures[metric["type_params"]["measure"]["name"]]
            asked.setdefault(model["name"], (model, metric["name"]))
    assert len(asked) == sum(1 for m in manifest["semantic_models"] if m["measures"])
    for model, metric in asked.values():
        # By year: some metrics are kept per year only.
        sql = generator.sql([metric], ["metric_time__year"])
        relation = model["node_relation"]["relation_name"]
        assert f"FROM (select * from {relation} where (" in sql, model["name"]
        assert f"date '{since}'" in sql and f"date '{year_before}'" not in sql
        [[parsed]] = duckdb.sql("select json_serialize_sql($sql)", params={"sql": sql}).fetchall()
        assert json.loads(parsed)["error"] is False, model["name"]
    spells = generator.sql(["sick_spells", "ended_sick_spells"], ["metric_time__month"])
    assert "(spell_start_date) >= date '2024-01-01' or (ended_date) >= date '2024-01-01'" in spells
    # MetricFlow's own cumulative SQL joins the facts to the time spine.
    rolling = generator.sql(["leaver_count_rolling_12m"], ["metric_time__month"])
    assert 'JOIN (select * from "publishable"."marts"."fct_workforce_monthly" where (' in rolling
    assert f"date '{year_before}'" in rolling and f"date '{since}'" not in rolling
    [[parsed]] = duckdb.sql("select json_serialize_sql($sql)", params={"sql": rolling}).fetchall()
    assert json.loads(parsed)["error"] is False


class _MonthCellsOfModels:
    """Stands in for MetricSql: a model's month cells summed from a small table per model."""

    def __init__(self, con, models: dict[str, str]):
        self.con, self.models, self.asked = con, models, []

    def sql(self, leaves: list[str], group_by: list[str]) -> str:
        tables = {self.models[leaf] for leaf in leaves}
        assert len(tables) == 1, "one model per question"
        self.asked.append((tables.pop(), tuple(group_by[1:])))
        sums = ", ".join(f"sum({leaf}) as {leaf}" for leaf in leaves)
        return f"select {', '.join(group_by)}, {sums} from {self.asked[-1][0]} group by all"


def test_groups_of_two_models_are_joined_from_each_models_shared_month_cells():
    """Verzuim (sick FTE days over FTE days) per quarter and unit from the workforce and absence
    month cells, joined as MetricFlow joins the two models' sums: a unit with absences and no
    workforce keeps its row, a missing sick figure is 0 (the metric's fill), and the rows of
    employees under no level-4 unit (a null member) on both sides are one row. The workforce
    cells are asked once per split: by unit for two groups, and by cost center and by gender
    apart (crossed, they would multiply the cells)."""
    con = duckdb.connect()
    con.execute(
        "create table workforce as select * from (values "
        "(date '2024-01-01', 'A', 'cc1', 'F', 10.0, 31), (date '2024-02-01', 'A', 'cc1', 'F', "
        "10.0, 29), (date '2024-03-01', 'A', 'cc2', 'M', 10.0, 31), "
        "(date '2024-01-01', 'B', 'cc1', 'M', 5.0, 31), (date '2024-01-01', null, 'cc2', 'F', "
        "2.0, 31)) as t(metric_time__month, segment__org_level_4, segment__cost_center, "
        "segment__gender, fte_days, employed_days)"
    )
    con.execute("alter table workforce alter fte_days type double")
    con.execute(
        "create table absence as select * from (values "
        "(date '2024-02-01', 'A', 1.5), (date '2024-03-01', null, 0.5), "
        "(date '2024-04-01', 'C', 3.0)) as t(metric_time__month, segment__org_level_4, "
        "sick_fte_days)"
    )
    con.execute("alter table absence alter sick_fte_days type double")
    semantics = Semantics(con, json.loads(MANIFEST.read_text()))
    generator = _MonthCellsOfModels(
        con, {"fte_days": "workforce", "employed_days": "workforce", "sick_fte_days": "absence"}
    )
    by_unit = ("org_level_4", ["metric_time__quarter", "segment__org_level_4"])
    verzuim = _Cells(semantics, generator, ["sick_fte_days", "fte_days"], "metric_time__quarter",
                     [("total", ["metric_time__quarter"]), by_unit])  # fmt: skip
    days = _Cells(semantics, generator, ["fte_days", "employed_days"], "metric_time__month",
                  [("org_level_4", ["metric_time__month", "segment__org_level_4"])])  # fmt: skip
    by_cost_center = _Cells(
        semantics,
        generator,
        ["fte_days"],
        "metric_time__month",
        [("cost_center", ["metric_time__month", "segment__cost_center"])],
    )
    by_gender = _Cells(semantics, generator, ["fte_days"], "metric_time__month",
                       [("gender", ["metric_time__month", "segment__gender"])])  # fmt: skip
    models = _ModelCells(
        semantics, generator, json.loads(MANIFEST.read_text()),
        [verzuim, days, by_cost_center, by_gender],
    )  # fmt: skip
    assert all(cells.models is models for cells in (verzuim, days, by_cost_center, by_gender))

    rows = con.sql(
        f"select * from {verzuim.table('org_level_4')} order by segment__org_level_4 nulls last"
    ).fetchall()
    # DuckDB truncates a date to a timestamp, in MetricFlow's SQL as here.
    q1, q2 = dt.datetime(2024, 1, 1), dt.datetime(2024, 4, 1)
    assert [(row[0], row[1], row[2], row[3]) for row in rows] == [
        (q1, "A", 1.5, 30.0), (q1, "B", 0.0, 5.0), (q2, "C", 3.0, None), (q1, None, 0.5, 2.0),
    ]  # fmt: skip
    months = con.sql(
        f"select segment__org_level_4, sum(employed_days) from {days.table('org_level_4')} "
        "group by 1 order by 1 nulls last"
    ).fetchall()
    assert months == [("A", 91), ("B", 31), (None, 31)]
    by_cost_center.table("cost_center")
    by_gender.table("gender")
    assert sorted(generator.asked) == [
        ("absence", ("segment__org_level_4",)),
        ("workforce", ("segment__cost_center",)),
        ("workforce", ("segment__gender",)),
        ("workforce", ("segment__org_level_4",)),
    ]
    assert verzuim.asked == days.asked == 0
    # Each model's cells are dropped once the last group summing them has its own.
    left = "select count(*) from duckdb_tables() where table_name like 'kpi_model_cells%'"
    assert con.sql(left).fetchall() == [(0,)]


def _model_table(con: duckdb.DuckDBPyConnection, model: dict, rows: list[dict]) -> None:
    """The table a semantic model reads, with every column the model names (text, numbers
    and dates as `rows` give them, null where they do not)."""
    columns = [c.get("expr") or c["name"]
               for c in (*model["entities"], *model["dimensions"], *model["measures"])]  # fmt: skip
    types = {c: "double" if c.endswith(("_days", "_end", "_at_month_end")) else "varchar"
             for c in columns}  # fmt: skip
    types |= {c: "date" for c in columns if c.endswith("date")}
    relation = model["node_relation"]["relation_name"]
    con.execute(f"create table {relation} ({', '.join(f'{c} {t}' for c, t in types.items())})")
    for row in rows:
        names = ", ".join(row)
        con.execute(f"insert into {relation} ({names}) values ({', '.join('?' * len(row))})",
                    list(row.values()))  # fmt: skip


def test_a_month_end_figure_in_month_cells_is_asked_as_its_months_sum():
    """At month grain a month-end headcount is the sum of its month's rows: asked so, MetricFlow
    reads the workforce facts once instead of three times (the sums, the month-end sums and each
    month's last month, joined). Same cells, rows and values, whatever the split."""
    manifest = json.loads(MANIFEST.read_text())
    measures, metrics = month_cell_companions(Semantics(duckdb.connect(), manifest), manifest)
    assert {"headcount__in_month_cells", "fte__in_month_cells"} <= {m["name"] for m in metrics}
    assert all(measure["non_additive_dimension"] is None for _, measure in measures)
    models = {model["name"]: model for model in manifest["semantic_models"]}
    con = duckdb.connect()
    con.execute("attach ':memory:' as publishable")
    con.execute("create schema publishable.marts")
    jan, feb = dt.date(2024, 1, 1), dt.date(2024, 2, 1)
    _model_table(con, models["segments"], [
        {"segment_key": "s1", "org_level_4_id": "A"}, {"segment_key": "s2", "org_level_4_id": "A"},
        {"segment_key": "s3", "org_level_4_id": None},
    ])  # fmt: skip
    _model_table(con, models["workforce_monthly"], [
        {"segment_key": key, "month_start_date": month, "headcount_at_month_end": headcount,
         "fte_at_month_end": fte, "employed_days": days}
        for key, month, headcount, fte, days in [
            ("s1", jan, 1, 0.8, 31), ("s2", jan, 1, 1.0, 31), ("s1", feb, 0, 0.0, 10),
            ("s3", feb, 1, 0.5, 29), ("s3", jan, None, None, None),
        ]
    ])  # fmt: skip
    generator = MetricSql(PROJECT_ROOT / "dbt_project", metrics, measures)
    by_unit = ["metric_time__month", "segment__org_level_4"]
    month_end = generator.sql(["headcount", "fte", "employed_days"], by_unit)
    summed = generator.sql(["headcount__in_month_cells", "fte__in_month_cells", "employed_days"],
                           by_unit)  # fmt: skip
    assert month_end.count("MAX(") > summed.count("MAX(")
    in_order = "order by all nulls last"
    # DuckDB truncates a date to a timestamp, in MetricFlow's SQL as here.
    january, february = dt.datetime(2024, 1, 1), dt.datetime(2024, 2, 1)
    expected = [
        (january, "A", 2, 1.8, 62.0), (january, None, None, None, None),
        (february, "A", 0, 0.0, 10.0), (february, None, 1, 0.5, 29.0),
    ]  # fmt: skip
    assert con.sql(f"select * from ({month_end}) {in_order}").fetchall() == expected
    assert con.sql(f"select * from ({summed}) {in_order}").fetchall() == expected


def _answer(members: list[str], metrics: dict[str, list[float | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "period_start": [dt.date(2024, 1, 1)] * len(members),
            "dimension": ["gender"] * len(members),
            "member": members,
            **metrics,
        },
        schema_overrides={name: pl.Float64 for name in metrics},
    )


def test_small_answers_wait_and_go_in_together_a_large_one_after_them(monkeypatch):
    monkeypatch.setattr(kpi_tables, "BATCH_ROWS", 6)
    con = duckdb.connect()
    con.execute("create schema kpi")
    con.register("empty", kpi_tables._empty())
    for grain in ("month", "quarter", "year"):
        con.execute(f"create table {kpi_tables._building(grain)} as select * from empty")
    building = kpi_tables._building("month")
    rows = kpi_tables._KpiRows(con)

    def stored():
        return con.sql(f"select metric, member, value from {building}").fetchall()

    rows.add("month", _answer(["F", "M"], {"leavers": [1.0, 2.0]}), ["leavers"])
    rows.add("month", _answer(["X"], {"hires": [3.0], "leavers": [None]}), ["hires", "leavers"])
    # 4 rows wait: below the batch, nothing is in the table yet.
    assert stored() == []
    # A large answer (6 rows): the waiting rows go in first, in the order they came.
    rows.add("month", _answer(["F", "M", "X"], {"d": [7.0, 8.0, 9.0], "e": [1.0, 1.0, 1.0]}),
             ["d", "e"])  # fmt: skip
    assert stored() == [
        ("leavers", "F", 1.0), ("leavers", "M", 2.0), ("hires", "X", 3.0), ("leavers", "X", None),
        ("d", "F", 7.0), ("d", "M", 8.0), ("d", "X", 9.0),
        ("e", "F", 1.0), ("e", "M", 1.0), ("e", "X", 1.0),
    ]  # fmt: skip
    rows.add("year", _answer(["F"], {"leavers": [1.0]}), ["leavers"])
    rows.flush()
    assert con.sql(f"select metric, member, value from {kpi_tables._building('year')}"
                   ).fetchall() == [("leavers", "F", 1.0)]  # fmt: skip
    assert rows.counts == {"kpi.metrics_month": 10, "kpi.metrics_quarter": 0,
                           "kpi.metrics_year": 1}  # fmt: skip


def test_the_tables_name_metrics_and_dimensions_as_enums_of_this_run_and_the_frozen_periods():
    """`metric` and `dimension` are enums of the names the plans will write, a forced split's
    second dimension as `forced/dimension`, and the names in the frozen archive (its rows go
    back into the live tables). In name order, so that they sort as the text they replace; a
    name outside them is refused, not written."""
    group = kpi_tables.MetricGroup(
        models=("spp_gap",), metrics=("gap_fte", "demand_fte"), grains=("month",),
        dimensions=("job_family",), forced="scenario",
    )  # fmt: skip
    plan = kpi_tables._Plan(group, {"month": [("scenario", []), ("job_family", [])]}, [], [], None)
    with duckdb.connect() as con:
        con.execute("create schema kpi")
        con.execute("create schema kpi_frozen")
        con.execute(
            "create table kpi_frozen.metrics_year as select 'retired_rate' as metric, "
            "date '2020-01-01' as period_start, 'org_level_9' as dimension, "
            "null::varchar as member, 1.0 as value"
        )
        kpi_tables._create_building_tables(con, [plan])
        enums = dict(
            con.sql(
                "select column_name, data_type from duckdb_columns() "
                "where table_name = 'metrics_month__building'"
            ).fetchall()
        )
        assert enums["metric"] == "ENUM('demand_fte', 'gap_fte', 'retired_rate')"
        assert enums["dimension"] == "ENUM('org_level_9', 'scenario', 'scenario/job_family')"
        con.execute("insert into kpi.metrics_month__building select * from kpi_frozen.metrics_year")
        with pytest.raises(duckdb.ConversionException):
            con.execute(
                "insert into kpi.metrics_month__building values "
                "('headcount', date '2020-01-01', 'total', null, 1.0)"
            )


def test_with_no_metric_to_write_the_tables_are_created_empty():
    with duckdb.connect() as con:
        con.execute("create schema kpi")
        kpi_tables._create_building_tables(con, [])
        assert con.sql("select count(*) from kpi.metrics_year__building").fetchall() == [(0,)]
