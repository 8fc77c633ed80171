"""The core KPIs computed three ways, to hold the pipeline to account.

1. `duckdb_baseline`: one hand-written DuckDB query (baseline_core_kpis.sql) over the newest HR
   delivery, the lower bound of what this machine can do;
2. `pandas_baseline`: the same rules as an analyst would write them in pandas;
3. `published_core_kpis`: what the pipeline published (serving.duckdb, kpi.metrics_month).

All three answer in one long shape: (dimension, member, month_start, metric, value), with the org
tree as `org_level_N` (a unit with its whole subtree) and `total`. `compare` lists every
disagreement. Counts must be equal; averages and rates are divisions of exactly equal sums and
must agree to 12 significant digits (engines may round the last binary digit of a conversion
differently).

The baselines share only file plumbing with each other (which file, which dialect, which header
alias), never a KPI rule, and nothing at all with the pipeline.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import yaml

CORE_METRICS = (
    "headcount",
    "average_headcount",
    "average_fte",
    "leavers",
    "turnover_rate",
    "verzuim_pct",
)
COUNT_METRICS = ("headcount", "leavers")
# The org levels the published KPI tables carry (metrics.kpi_tables.MONTH_DIMENSIONS).
PUBLISHED_ORG_LEVELS = 4
RELATIVE_TOLERANCE = 1e-12
# Enough to join two answers of 100,000 employees in memory; larger ones spill.
COMPARE_MEMORY_LIMIT = "3GB"
SQL = Path(__file__).with_name("baseline_core_kpis.sql")
DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt_project" / "dbt_project.yml"


def quiet_duckdb(database: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A connection (read-only on a file) that draws no progress bar into the benchmark's log."""
    con = duckdb.connect(str(database), read_only=True) if database else duckdb.connect()
    con.execute("set enable_progress_bar = false")
    return con


# The columns the core KPIs need, with the Dutch export header each may arrive under
# (EXTRACTS.md). Types: text, date, number, flag.
COLUMNS = {
    "contracts": {
        "contract_id": ("text", "contractnummer"),
        "employee_id": ("text", "personeelsnummer"),
        "valid_from": ("date", "ingangsdatum"),
        "valid_to": ("date", "einddatum"),
        "org_unit_id": ("text", "afdeling"),
        "contract_type": ("text", "soort_contract"),
        "hours_per_week": ("number", "uren_per_week"),
        "fulltime_hours": ("number", "fulltime_uren"),
        "is_concurrent": ("flag", "nevenfunctie"),
    },
    "terminations": {
        "employee_id": ("text", "personeelsnummer"),
        "termination_date": ("date", "datum_uit_dienst"),
    },
    "absences": {
        "absence_id": ("text", "absence_id"),
        "employee_id": ("text", "personeelsnummer"),
        "start_date": ("date", "eerste_ziektedag"),
        "end_date": ("date", "hersteldatum"),
        "incapacity_pct": ("number", "percentage_arbeidsongeschikt"),
        "absence_type": ("text", "absence_type"),
    },
    "org_units": {
        "org_unit_id": ("text", "afdeling"),
        "parent_org_unit_id": ("text", "parent_org_unit_id"),
        "valid_from": ("date", "valid_from"),
    },
}
TRUE_WORDS = ("true", "ja", "j", "yes", "y", "1")


@dataclass(frozen=True)
class RawFile:
    path: Path
    dutch: bool  # `;` separator, `,` decimals, DD-MM-YYYY dates, Windows-1252

    @property
    def kind(self) -> str:
        return self.path.suffix.lower().lstrip(".")


@dataclass(frozen=True)
class HrDelivery:
    """The newest HR delivery: the truth the KPIs are computed from (EXTRACTS.md, hris)."""

    directory: Path
    as_of_date: dt.date
    history_years: int

    @classmethod
    def newest(cls, landing: Path) -> "HrDelivery":
        directory = max((landing / "hris").iterdir(), key=lambda d: d.name)
        delivered = dt.date(
            int(directory.name[:4]), int(directory.name[4:6]), int(directory.name[6:8])
        )
        history_years = yaml.safe_load(DBT_PROJECT.read_text())["vars"]["history_years"]
        # An extract taken in the night of the 1st describes the day before.
        return cls(directory, delivered - dt.timedelta(days=1), history_years)

    @property
    def history_start(self) -> dt.date:
        return dt.date(self.as_of_date.year - self.history_years + 1, 1, 1)

    def file(self, entity: str) -> RawFile:
        path = next(p for p in self.directory.iterdir() if p.stem.lower() == entity)
        dutch = False
        if path.suffix.lower() == ".csv":
            with path.open("rb") as handle:
                dutch = b";" in handle.readline()
        return RawFile(path, dutch)


def _normalised(header: str) -> str:
    return header.strip().lstrip("\ufeff").lower().replace(" ", "_").replace("-", "_")


def _renames(entity: str, headers: list[str]) -> dict[str, str]:
    """File header -> canonical name, for the columns the baselines need."""
    wanted = COLUMNS[entity]
    renames = {}
    for header in headers:
        name = _normalised(header)
        for canonical, (_, alias) in wanted.items():
            if name in (canonical, alias):
                renames[header] = canonical
    return renames


# -- 1. DuckDB ---------------------------------------------------------------------------------


def _duckdb_relation_sql(raw: RawFile, entity: str, con: duckdb.DuckDBPyConnection) -> str:
    path = str(raw.path).replace("'", "''")
    if raw.kind == "parquet":
        source = f"read_parquet('{path}')"
        headers = [c[0] for c in con.execute(f"describe select * from {source}").fetchall()]
        return (
            "select "
            + ", ".join(f'"{h}" as {c}' for h, c in _renames(entity, headers).items())
            + f" from {source}"
        )
    options = "delim=';', encoding='latin-1'" if raw.dutch else "delim=','"
    source = f"read_csv('{path}', header=true, all_varchar=true, {options})"
    headers = [c[0] for c in con.execute(f"describe select * from {source}").fetchall()]
    date_format = "%d-%m-%Y" if raw.dutch else "%Y-%m-%d"
    columns = []
    for header, canonical in _renames(entity, headers).items():
        kind = COLUMNS[entity][canonical][0]
        value = f"nullif(trim(\"{header}\"), '')"
        if kind == "date":
            value = f"cast(strptime({value}, '{date_format}') as date)"
        elif kind == "number":
            value = (
                f"cast(replace({value}, ',', '.') as double)"
                if raw.dutch
                else (f"cast({value} as double)")
            )
        elif kind == "flag":
            words = ", ".join(f"'{w}'" for w in TRUE_WORDS)
            value = f"case when {value} is null then null else lower({value}) in ({words}) end"
        columns.append(f"{value} as {canonical}")
    return f"select {', '.join(columns)} from {source}"


def duckdb_baseline(landing: Path, memory_limit: str | None = None) -> pl.DataFrame:
    with quiet_duckdb() as con:
        return con.sql(_duckdb_baseline_sql(con, landing, memory_limit)).pl()


def _duckdb_baseline_sql(
    con: duckdb.DuckDBPyConnection, landing: Path, memory_limit: str | None
) -> str:
    delivery = HrDelivery.newest(landing)
    if memory_limit:
        con.execute(f"set memory_limit = '{memory_limit}'")
    for entity in ("contracts", "terminations", "absences"):
        sql = _duckdb_relation_sql(delivery.file(entity), entity, con)
        con.execute(f"create view {entity} as {sql}")
    # DuckDB reads no Excel without an extension it cannot download here: the org tree (a few
    # hundred rows) comes in through polars.
    con.register("org_units", _org_units(delivery))
    query = SQL.read_text().format(
        as_of_date=delivery.as_of_date.isoformat(), history_years=delivery.history_years
    )
    return _published_shape(query)


def _org_units(delivery: HrDelivery) -> pl.DataFrame:
    return pl.from_pandas(_pandas_frame(delivery.file("org_units"), "org_units"))


def _published_shape(query: str) -> str:
    """The rows of `query` in the shape all three answer in."""
    levels = ", ".join(f"'org_level_{n}'" for n in range(1, PUBLISHED_ORG_LEVELS + 1))
    return f"""
        select dimension::varchar as dimension, member::varchar as member,
            month_start::date as month_start, metric::varchar as metric, value::double as value
        from ({query})
        -- A null member at org level N holds the people whose unit sits higher in the tree.
        where dimension = 'total' or dimension in ({levels}) and member is not null"""


# -- 2. pandas ---------------------------------------------------------------------------------


def _pandas_frame(raw: RawFile, entity: str) -> pd.DataFrame:
    if raw.kind == "parquet":
        frame = pd.read_parquet(raw.path)
    elif raw.kind == "xlsx":
        # pandas' own Excel readers need openpyxl or python-calamine; polars reads it already.
        frame = pl.read_excel(raw.path).to_pandas()
    else:
        frame = pd.read_csv(
            raw.path,
            sep=";" if raw.dutch else ",",
            encoding="cp1252" if raw.dutch else "utf-8-sig",
            dtype=str,
            keep_default_na=False,
            na_values=[""],
        )
    frame = frame.rename(columns=_renames(entity, list(frame.columns)))
    frame = frame[list(COLUMNS[entity])]
    for column, (kind, _) in COLUMNS[entity].items():
        values = frame[column]
        if kind == "date":
            if values.dtype == object or pd.api.types.is_string_dtype(values):
                frame[column] = pd.to_datetime(
                    values, format="%d-%m-%Y" if raw.dutch else "%Y-%m-%d"
                )
            else:
                frame[column] = pd.to_datetime(values)
        elif kind == "number" and not pd.api.types.is_numeric_dtype(values):
            text = values.str.replace(",", ".", regex=False) if raw.dutch else values
            frame[column] = pd.to_numeric(text)
        elif kind == "flag":
            frame[column] = values.str.lower().isin(TRUE_WORDS) & values.notna()
    return frame


def _split_by_month(frame: pd.DataFrame, start: str, end: str, window: tuple) -> pd.DataFrame:
    """One row per month each [start, end] row overlaps inside the window, with the days in it."""
    first, last = (pd.Timestamp(d) for d in window)

    def month_number(dates: pd.Series) -> np.ndarray:
        return (dates.dt.year * 12 + dates.dt.month - 1).to_numpy()

    lo = np.maximum(month_number(frame[start]), first.year * 12 + first.month - 1)
    hi = np.minimum(month_number(frame[end]), last.year * 12 + last.month - 1)
    counts = np.clip(hi - lo + 1, 0, None)
    rows = np.repeat(np.arange(len(frame)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    months = lo[rows] + offsets
    out = frame.iloc[rows].reset_index(drop=True)
    out["month_start"] = pd.to_datetime(
        {"year": months // 12, "month": months % 12 + 1, "day": np.ones_like(months)}
    )
    out["month_end"] = out["month_start"] + pd.offsets.MonthEnd(0)
    part_from = out[start].where(out[start] > out["month_start"], out["month_start"])
    part_to = out[end].where(out[end] < out["month_end"], out["month_end"])
    out["days"] = (part_to - part_from).dt.days + 1
    return out


def _parttime_factor_e4(hours: pd.Series, fulltime: pd.Series) -> pd.Series:
    """hours / full-time hours to 4 decimals (half up), as an integer number of 1/10,000ths."""
    pairs = pd.DataFrame({"h": hours, "f": fulltime})
    unique = pairs.drop_duplicates()
    factors = {
        (h, f): int(
            Decimal(h / f)
            .quantize(Decimal("0.000001"), ROUND_HALF_UP)
            .quantize(Decimal("0.0001"), ROUND_HALF_UP)
            .scaleb(4)
        )
        for h, f in unique.itertuples(index=False)
    }
    return pd.Series([factors[p] for p in zip(hours, fulltime, strict=True)], index=hours.index)


def pandas_baseline(landing: Path) -> pl.DataFrame:
    delivery = HrDelivery.newest(landing)
    as_of = pd.Timestamp(delivery.as_of_date)
    window = (delivery.history_start, delivery.as_of_date)
    one_day = pd.Timedelta(days=1)

    contracts = _pandas_frame(delivery.file("contracts"), "contracts")
    terminations = _pandas_frame(delivery.file("terminations"), "terminations")
    absences = _pandas_frame(delivery.file("absences"), "absences")
    org_units = _pandas_frame(delivery.file("org_units"), "org_units")

    # Employment: the first termination on or after each contract's start ends its period.
    contracts = contracts[contracts["contract_type"] != "external"].copy()
    contracts["is_concurrent"] = contracts["is_concurrent"].fillna(False).astype(bool)
    contracts["factor_e4"] = _parttime_factor_e4(
        contracts["hours_per_week"], contracts["fulltime_hours"]
    )
    contracts = pd.merge_asof(
        contracts.sort_values("valid_from"),
        terminations.sort_values("termination_date").rename(
            columns={"termination_date": "period_end"}
        ),
        left_on="valid_from",
        right_on="period_end",
        by="employee_id",
        direction="forward",
    )
    contracts["period"] = (
        contracts["employee_id"]
        + "|"
        + contracts["period_end"].dt.strftime("%Y-%m-%d").fillna("open")
    )
    contracts["effective_to"] = (
        pd.concat(
            [contracts["valid_to"].fillna(as_of), contracts["period_end"].fillna(as_of)], axis=1
        )
        .min(axis=1)
        .clip(upper=as_of)
    )

    periods = contracts.groupby("period").agg(
        employee_id=("employee_id", "first"),
        hire_date=("valid_from", "min"),
        period_end=("period_end", "first"),
    )
    periods["termination_date"] = periods["period_end"].where(periods["period_end"] <= as_of)

    worked = contracts[contracts["valid_from"] <= contracts["effective_to"]]
    worked = worked.sort_values(["employee_id", "valid_from", "is_concurrent", "contract_id"])

    # Headcount: each employed day counts once, for the earliest contract covering it.
    covered_until = worked.groupby("employee_id")["effective_to"].cummax()
    worked = worked.assign(covered_until=covered_until.groupby(worked["employee_id"]).shift(1))
    covers = worked["covered_until"].isna() | (worked["covered_until"] < worked["effective_to"])
    coverage = worked[covers].copy()
    coverage["piece_from"] = coverage["valid_from"].where(
        ~(coverage["covered_until"] >= coverage["valid_from"]), coverage["covered_until"] + one_day
    )
    coverage_months = _split_by_month(coverage, "piece_from", "effective_to", window)
    coverage_months["headcount_end"] = (
        coverage_months["effective_to"] >= coverage_months["month_end"]
    ).astype(int)
    employed = coverage_months.groupby(["org_unit_id", "month_start"]).agg(
        employed_days=("days", "sum"), headcount_end=("headcount_end", "sum")
    )

    fte_months = _split_by_month(worked, "valid_from", "effective_to", window)
    fte_months["fte_days_e4"] = fte_months["days"] * fte_months["factor_e4"]
    fte = fte_months.groupby(["org_unit_id", "month_start"]).agg(fte_days_e4=("fte_days_e4", "sum"))

    # Leavers: in the month of the termination, in the org unit of the last day worked.
    last_pieces = coverage.sort_values("effective_to").groupby("period").tail(1)
    exits = last_pieces.merge(
        periods[periods["termination_date"].notna()][["termination_date"]],
        left_on="period",
        right_index=True,
    )
    exits = exits[exits["effective_to"] >= pd.Timestamp(delivery.history_start)]
    exits["month_start"] = exits["termination_date"].dt.to_period("M").dt.to_timestamp()
    leavers = exits.groupby(["org_unit_id", "month_start"]).size().rename("leavers")

    # Verzuim: sick segments in the employment period their spell starts in.
    spells = absences.groupby("absence_id").agg(
        employee_id=("employee_id", "min"), spell_start=("start_date", "min")
    )
    spell_periods = spells.reset_index().merge(periods.reset_index(), on="employee_id")
    spell_periods = spell_periods[
        (spell_periods["spell_start"] >= spell_periods["hire_date"])
        & (spell_periods["spell_start"] <= spell_periods["termination_date"].fillna(as_of))
    ][["absence_id", "period", "termination_date"]]
    sick = absences[(absences["start_date"] <= as_of) & (absences["absence_type"] == "sick")]
    sick = sick.merge(spell_periods, on="absence_id")
    sick["segment_to"] = (
        pd.concat([sick["end_date"].fillna(as_of), sick["termination_date"].fillna(as_of)], axis=1)
        .min(axis=1)
        .clip(upper=as_of)
    )
    sick["pct_e2"] = (sick["incapacity_pct"].fillna(100) * 100).round().astype("int64")
    sick = sick.merge(
        worked[["period", "org_unit_id", "valid_from", "effective_to", "factor_e4"]], on="period"
    )
    sick["overlap_from"] = sick[["start_date", "valid_from"]].max(axis=1)
    sick["overlap_to"] = sick[["segment_to", "effective_to"]].min(axis=1)
    sick = sick[sick["overlap_from"] <= sick["overlap_to"]]
    sick_months = _split_by_month(sick, "overlap_from", "overlap_to", window)
    sick_months["sick_fte_days_e8"] = (
        sick_months["days"] * sick_months["pct_e2"] * sick_months["factor_e4"]
    )
    sick_days = sick_months.groupby(["org_unit_id", "month_start"]).agg(
        sick_fte_days_e8=("sick_fte_days_e8", "sum")
    )

    leaf = employed.join([fte, sick_days, leavers.to_frame()], how="outer").fillna(0).reset_index()
    return _pandas_rolled_up(leaf, org_units)


def _pandas_rolled_up(leaf: pd.DataFrame, org_units: pd.DataFrame) -> pl.DataFrame:
    units = org_units.sort_values("valid_from").groupby("org_unit_id").tail(1)
    parent = dict(zip(units["org_unit_id"], units["parent_org_unit_id"], strict=True))

    def ancestors(unit: str) -> list[str]:
        chain = [unit]
        while isinstance(parent.get(chain[-1]), str):
            chain.append(parent[chain[-1]])
        return chain

    rows = []
    for unit in units["org_unit_id"]:
        chain = ancestors(unit)
        levels = len(chain)
        for depth, ancestor in enumerate(chain):
            rows.append((unit, f"org_level_{levels - depth}", ancestor))
    ancestry = pd.DataFrame(rows, columns=["org_unit_id", "dimension", "member"])
    sums = ["employed_days", "headcount_end", "fte_days_e4", "leavers", "sick_fte_days_e8"]
    for column in sums:
        leaf[column] = leaf[column].astype("int64")
    by_unit = (
        leaf.merge(ancestry, on="org_unit_id")
        .groupby(["dimension", "member", "month_start"])[sums]
        .sum()
    )
    total = leaf.groupby("month_start")[sums].sum()
    total["dimension"], total["member"] = "total", None
    figures = pd.concat([by_unit.reset_index(), total.reset_index()])

    records = []
    for row in figures.itertuples(index=False):
        days = row.month_start.days_in_month
        # Python ints divide exactly rounded: the nearest double to each true quotient.
        fte_days = row.fte_days_e4 / 10**4
        sick_times_100 = (row.sick_fte_days_e8 * 100) / 10**8
        average_headcount = row.employed_days / days
        values = {
            "headcount": float(row.headcount_end),
            "average_headcount": average_headcount,
            "average_fte": fte_days / days,
            "leavers": float(row.leavers),
            "turnover_rate": row.leavers * 100.0 / average_headcount if average_headcount else None,
            "verzuim_pct": sick_times_100 / fte_days if fte_days else None,
        }
        for metric, value in values.items():
            if value is not None:
                records.append((row.dimension, row.member, row.month_start.date(), metric, value))
    answer = pl.DataFrame(  # noqa: F841 (read by name by DuckDB below)
        records, schema=["dimension", "member", "month_start", "metric", "value"], orient="row"
    )
    with quiet_duckdb() as con:
        return con.sql(_published_shape("select * from answer")).pl()


# -- 3. the pipeline ---------------------------------------------------------------------------


def published_core_kpis(serving: Path, out: Path | None = None) -> pl.DataFrame | None:
    """What the pipeline published, as a frame, or written to `out` (Parquet) without holding it:
    tens of millions of rows at a million employees."""
    with quiet_duckdb(serving) as con:
        metrics = ", ".join(f"'{m}'" for m in CORE_METRICS)
        query = _published_shape(
            "select dimension, member, period_start as month_start, metric, value "
            f"from kpi.metrics_month where metric in ({metrics}) and value is not null"
        )
        if out is None:
            return con.sql(query).pl()
        con.execute(f"copy ({query}) to '{out}' (format parquet)")
        return None


# -- agreement ---------------------------------------------------------------------------------


RATE_METRICS = ("turnover_rate", "verzuim_pct")


def compare(
    expected: pl.DataFrame | Path, actual: pl.DataFrame | Path, limit: int = 20
) -> list[dict]:
    """Every (dimension, member, month, metric) where the two disagree. A count or sum absent on
    one side is zero there (an org unit without leavers in a month has no leavers row); a rate
    absent on one side is a disagreement unless it is absent on both. Frames or Parquet files:
    DuckDB joins them, spilling rather than holding two answers of a million employees."""
    with quiet_duckdb() as con:
        con.execute(f"set memory_limit = '{COMPARE_MEMORY_LIMIT}'")
        for name, answer in (("expected", expected), ("actual", actual)):
            if isinstance(answer, Path):
                con.execute(f"create view {name} as select * from read_parquet('{answer}')")
            else:
                con.register(name, answer)
        rates, counts = (", ".join(f"'{m}'" for m in ms) for ms in (RATE_METRICS, COUNT_METRICS))
        rows = con.execute(f"""
            with joined as (
                select coalesce(e.dimension, a.dimension) as dimension,
                    coalesce(e.member, a.member) as member,
                    coalesce(e.month_start, a.month_start) as month_start,
                    coalesce(e.metric, a.metric) as metric,
                    e.value as e, a.value as a
                from expected as e
                full outer join actual as a
                    on e.dimension is not distinct from a.dimension
                    and e.member is not distinct from a.member
                    and e.month_start is not distinct from a.month_start
                    and e.metric is not distinct from a.metric
            ),
            valued as (
                select dimension, member, month_start, metric,
                    case when metric in ({rates}) then e else coalesce(e, 0) end as e,
                    case when metric in ({rates}) then a else coalesce(a, 0) end as a
                from joined
            )
            select dimension, member, month_start, metric, e, a from valued
            where case
                when e is null or a is null then not (e is null and a is null)
                when metric in ({counts}) then e <> a
                else abs(e - a) > greatest({RELATIVE_TOLERANCE} * greatest(abs(e), abs(a)), 1e-12)
            end
            order by dimension, member, month_start, metric
            limit {limit}""").fetchall()
    keys = ("dimension", "member", "month_start", "metric", "expected", "actual")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def main(argv: list[str] | None = None) -> None:
    """`python -m bench.baselines duckdb|pandas LANDING OUT.parquet`: one baseline in a process of
    its own, so the benchmark measures its time and memory alone."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("way", choices=["duckdb", "pandas"])
    parser.add_argument("landing", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--memory-limit", help="DuckDB's memory limit, e.g. 12GB")
    args = parser.parse_args(argv)
    if args.way == "pandas":
        pandas_baseline(args.landing).write_parquet(args.out)
        return
    # Written by DuckDB as it answers: at a million employees a frame of the answer would
    # double the baseline's memory.
    with quiet_duckdb() as con:
        query = _duckdb_baseline_sql(con, args.landing, args.memory_limit)
        con.execute(f"copy ({query}) to '{args.out}' (format parquet)")


if __name__ == "__main__":
    main()
