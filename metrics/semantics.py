"""The metric definitions as the KPI tables use them, and the segment calendar's shape.

The segment calendar: MetricFlow gets the period-length building blocks (days and months of a
period or of a rolling window) from a dense calendar of every workforce segment x month (90
million rows at 100,000 employees), so that a daily average can be grouped by any segment
attribute. Its measures depend only on its shape (its months, and how many workforce segments a
member has): the KPI tables compute them from that shape and evaluate the governed expressions
of the metrics built on them (same definitions, same DuckDB arithmetic) on MetricFlow's answer
for their other inputs. At 100,000 employees one question over the calendar took 90 s and a
rolling one longer than all the other questions together; their other inputs take seconds.
"""

import datetime as dt
import json
from collections import defaultdict
from functools import cached_property

import duckdb
import polars as pl

CALENDAR_MODEL = "segment_calendar"
CALENDAR_TABLE = "marts.fct_segment_calendar_monthly"
# Each calendar measure's value over a window of calendar months, for a member with n workforce
# segments: the window's own figure, times n where the measure counts per segment. Keyed by its
# definition (aggregation, expression), which the manifest must match.
CALENDAR_MEASURES = {
    ("sum", "days_in_month"): (lambda months: sum(_days_in_month(m) for m in months), True),
    ("count_distinct", "segment_key"): (lambda months: 1, True),
    ("count_distinct", "month_start_date"): (len, False),
}
GRAIN_MONTHS = {"month": 1, "quarter": 3, "year": 12}
MONTH = "metric_time__month"
PER_MONTH_SUFFIX = "__per_month"
# Measures whose sum over the cells of a split is their value for the whole split.
ADDITIVE_AGGREGATIONS = {"sum", "count", "sum_boolean"}


def _days_in_month(month: dt.date) -> int:
    return (add_months(month, 1) - month).days


def _period_start(month: dt.date, grain: str) -> dt.date:
    return month.replace(month=(month.month - 1) // GRAIN_MONTHS[grain] * GRAIN_MONTHS[grain] + 1)


class Semantics:
    """The metric definitions as the KPI tables use them, and the segment calendar's shape."""

    def __init__(self, con: duckdb.DuckDBPyConnection, manifest: dict):
        self.con = con
        self.definitions = {m["name"]: m for m in manifest["metrics"]}
        models = {m["name"]: m for m in manifest["semantic_models"]}
        self.aggregation = {
            measure["name"]: measure["agg"] for model in models.values()
            for measure in model["measures"]
        }  # fmt: skip
        self.segment_columns = {
            d["name"]: d.get("expr") or d["name"] for d in models["segments"]["dimensions"]
        }
        self.calendar_measures = {}
        for measure in models[CALENDAR_MODEL]["measures"]:
            kind = (measure["agg"], measure.get("expr") or measure["name"])
            if kind not in CALENDAR_MEASURES:
                raise ValueError(
                    f"calendar measure {measure['name']} ({kind[0]} of {kind[1]}) has no "
                    "computed value in metrics/semantics.py CALENDAR_MEASURES"
                )
            self.calendar_measures[measure["name"]] = CALENDAR_MEASURES[kind]
        self.computed = {
            name for name, metric in self.definitions.items()
            if all(m["name"] in self.calendar_measures
                   for m in metric["type_params"]["input_measures"])
        }  # fmt: skip
        self._members: dict[str | None, pl.DataFrame] = {}
        self._windows: dict[tuple[dt.date, dt.date], tuple[dt.date, ...]] = {}
        spine = manifest["project_configuration"]["time_spines"][0]
        self.time_spine = (spine["node_relation"]["relation_name"], spine["primary_column"]["name"])
        self.windowed = {
            name: (f"{name}{PER_MONTH_SUFFIX}", metric["type_params"]["cumulative_type_params"])
            for name, metric in self.definitions.items()
            if name not in self.computed and self._is_windowed_sum(metric)
        }

    def _is_windowed_sum(self, metric: dict) -> bool:
        """A rolling sum of an additive measure over whole months, read at the period's end."""
        params = metric["type_params"].get("cumulative_type_params") or {}
        measure = metric["type_params"].get("measure") or {}
        return (
            metric["type"] == "cumulative"
            and not metric.get("filter")
            and not params.get("grain_to_date")
            and params.get("period_agg") == "last"
            and (params.get("window") or {}).get("granularity") == "month"
            and not (measure.get("filter") or measure.get("join_to_timespine"))
            and measure.get("fill_nulls_with") is None
            and self.aggregation[measure["name"]] in ADDITIVE_AGGREGATIONS
        )

    def per_month_metrics(self) -> tuple[dict, ...]:
        """For each windowed sum, the simple metric of its measure per month: MetricFlow answers
        it from one pass over the facts, where the rolling metric joins every fact to every
        window that holds it (13 million rows to 145 months at 100,000 employees)."""
        companions = []
        for name, (companion, _) in sorted(self.windowed.items()):
            metric = json.loads(json.dumps(self.definitions[name]))
            metric["name"], metric["type"] = companion, "simple"
            metric["type_params"]["cumulative_type_params"] = None
            metric["type_params"]["window"] = None
            metric["config"] = {"meta": {"building_block": True}}
            companions.append(metric)
        return tuple(companions)

    def windowed_sums(self, generator, names: list[str]) -> pl.DataFrame:
        """The windowed sums by month, as MetricFlow's cumulative join gives them: a row for
        every month of the time spine whose window holds a month of facts."""
        spine, day = self.time_spine
        by_window: dict[int, list[str]] = defaultdict(list)
        for name in names:
            by_window[self.windowed[name][1]["window"]["count"]].append(name)
        monthly = generator.sql([self.windowed[n][0] for n in names], [MONTH])
        answer = None
        for months, group in sorted(by_window.items()):
            sums = ", ".join(f"sum(monthly.{self.windowed[n][0]}) as {n}" for n in group)
            frame = self.con.sql(
                f"with monthly as ({monthly}), "
                f"spine as (select distinct date_trunc('month', {day}) as month from {spine}) "
                f"select spine.month as {MONTH}, {sums} from spine join monthly "
                f"on monthly.{MONTH} <= spine.month "
                f"and monthly.{MONTH} > spine.month - interval {months} month "
                "group by all"
            ).pl()
            answer = (
                frame if answer is None else answer.join(frame, on=MONTH, how="full", coalesce=True)
            )
        return answer

    @cached_property
    def months(self) -> tuple[dt.date, ...]:
        first, last = self.con.sql(
            f"select min(month_start_date), max(month_start_date) from {CALENDAR_TABLE}"
        ).fetchall()[0]
        if first is None:
            return ()
        return tuple(add_months(first, i) for i in range(_months_between(first, last)))

    def uses_calendar(self, name: str) -> bool:
        inputs = self.definitions[name]["type_params"].get("metrics") or []
        return name in self.computed or any(self.uses_calendar(i["name"]) for i in inputs)

    def inputs(self, names, expand) -> list[str]:
        """What MetricFlow answers for `names`: derived metrics for which `expand` holds are
        replaced by their inputs (recursively), calendar metrics left out."""
        found: list[str] = []
        for name in names:
            metric = self.definitions[name]
            if name in self.computed:
                continue
            if metric["type"] == "derived" and expand(name):
                inner = self.inputs([i["name"] for i in metric["type_params"]["metrics"]], expand)
                found += [m for m in inner if m not in found]
            elif name not in found:
                found.append(name)
        return found

    def evaluated(self, names, expand) -> list[str]:
        """The derived metrics evaluated here for `names` (dependencies first): those `expand`
        holds for, and those computed from the calendar."""
        order: list[str] = []

        def visit(name: str) -> None:
            metric = self.definitions[name]
            if name in order or metric["type"] != "derived":
                return
            if not (expand(name) or name in self.computed):
                return
            for item in metric["type_params"]["metrics"]:
                visit(item["name"])
            order.append(name)

        for name in names:
            visit(name)
        return order

    def calendar_leaves(self, order: list[str]) -> list[str]:
        """The calendar metrics (simple or rolling) under the derived metrics in `order`."""
        leaves: list[str] = []
        for name in order:
            for item in self.definitions[name]["type_params"]["metrics"]:
                inner = item["name"]
                if inner in self.computed and self.definitions[inner]["type"] != "derived":
                    leaves += [inner] if inner not in leaves else []
        return leaves

    def window(self, name: str, period_start: dt.date, grain: str) -> tuple[dt.date, ...]:
        """The calendar months a calendar metric covers for a period: the period's own, or for a
        rolling metric (period_agg last) the window ending with the period's last month."""
        span = GRAIN_MONTHS[grain]
        params = self.definitions[name]["type_params"].get("cumulative_type_params")
        if params is None:
            first, end = period_start, add_months(period_start, span)
        else:
            window = params.get("window") or {}
            if params.get("period_agg") != "last" or window.get("granularity") != "month":
                raise ValueError(f"{name}: only monthly windows read at the period's end")
            end = add_months(period_start, span)
            first = add_months(end, -window["count"])
        key = (first, end)
        if key not in self._windows:
            self._windows[key] = tuple(m for m in self.months if first <= m < end)
        return self._windows[key]

    def segment_counts(self, dimension: str | None) -> pl.DataFrame:
        """The calendar's segments per member of a split (one row, member null, for the total).
        The calendar is dense, so its first month holds every segment; which segments it holds
        is the dbt model's rule alone."""
        if dimension not in self._members:
            member = (
                f"cast(segments.{self.segment_columns[dimension]} as varchar)" if dimension
                else "null"
            )  # fmt: skip
            self._members[dimension] = self.con.sql(
                f"select {member} as member, count(*) as segments "
                f"from {CALENDAR_TABLE} as calendar "
                "join marts.dim_segments as segments using (segment_key) "
                "where calendar.month_start_date = "
                f"(select min(month_start_date) from {CALENDAR_TABLE}) group by all"
            ).pl()
        return self._members[dimension]

    def with_calendar(self, answer: pl.DataFrame, group_by: list[str], grain: str,
                      leaves: list[str]) -> pl.DataFrame:  # fmt: skip
        """The answer with the calendar metrics, and with MetricFlow's calendar rows: a row for
        every period and member the dense calendar reaches (its full outer join), empty where
        the facts have none, so the tables answer exactly what MetricFlow would."""
        time_column = group_by[0]
        if not self.months:
            return answer.with_columns(pl.lit(None, pl.Float64).alias(name) for name in leaves)
        last = add_months(self.months[-1], max(
            (self.definitions[name]["type_params"].get("cumulative_type_params") or {})
            .get("window", {}).get("count", 1) - 1 for name in leaves
        ))  # fmt: skip
        periods = sorted({
            start for start in (_period_start(add_months(self.months[0], i), grain)
                                for i in range(_months_between(self.months[0], last)))
            if any(self.window(name, start, grain) for name in leaves)
        })  # fmt: skip
        counts = self.segment_counts(group_by[1].split("__", 1)[1] if len(group_by) > 1 else None)
        # A value is the period's figure (computed once per period), times the member's number
        # of segments where it counts per segment: computed per period and member in Python,
        # it was a million calls at org level 4 and a tenth of the KPI tables' time.
        per_period = pl.DataFrame(
            {
                time_column: periods,
                **{name: [self._window_value(name, start, grain) for start in periods]
                   for name in leaves},
            },
            schema_overrides={time_column: pl.Date},
        )  # fmt: skip
        spine = (
            per_period.join(counts.rename({"member": "__member", "segments": "__segments"}),
                            how="cross")
            .with_columns(
                pl.col(name) * pl.col("__segments") for name in leaves
                if self._per_segment(name)
            )
            .select(time_column, "__member", *leaves)
        )  # fmt: skip
        spine = (
            spine.rename({"__member": group_by[1]}) if len(group_by) > 1 else spine.drop("__member")
        )
        answer = answer.with_columns(pl.col(time_column).cast(pl.Date))
        spine = spine.with_columns(pl.col(c).cast(answer.schema[c]) for c in group_by)
        return spine.join(answer, on=group_by, how="full", coalesce=True, nulls_equal=True)

    def _measure(self, name: str):
        return self.calendar_measures[self.definitions[name]["type_params"]["measure"]["name"]]

    def _window_value(self, name: str, start: dt.date, grain: str) -> int | None:
        months = self.window(name, start, grain)
        return self._measure(name)[0](months) if months else None

    def _per_segment(self, name: str) -> bool:
        return self._measure(name)[1]


def _months_between(first: dt.date, last: dt.date) -> int:
    """How many months from first to last, both included."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)
