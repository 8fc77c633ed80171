"""Turn the simulation into deliveries as real systems send them, written to a landing folder.

HRIS: a full snapshot (history included) at each of the last month-ends; survey: one delivery per
wave; finance: one per month (one of them restates the previous month); planning: one. Formats and
dialects vary by entity the way they do between real vendors. What the generator planted for the
reconciliation to find is written to `<out>/.truth/` (outside any delivery).
"""

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import xlsxwriter

from generator import writers
from generator.organisation import (
    JOB_FAMILIES,
    REVENUE_FAMILIES,
    UNMAPPED_COST_CENTER,
    WORK_FAMILIES,
    build_organisation,
)
from generator.workforce import ManagerIndex, Slots, WorkforceSimulator
from generator.writers import BOM, CANONICAL, DUTCH, PARQUET, DeliveryFile, FileStyle

EPOCH = dt.date(1970, 1, 1)
FIXED_XLSX_TIME = dt.datetime(2020, 1, 1)
ITEMS = [
    ("ENG01", "engagement", "Ik ga met plezier naar mijn werk.", 1, 5, False),
    ("ENG02", "engagement", "Ik voel me betrokken bij wat deze organisatie doet.", 1, 5, False),
    ("ENG03", "engagement", "Ik ben trots op het werk dat mijn team levert.", 1, 5, False),
    ("ENG04", "engagement", "Mijn werk geeft me energie.", 1, 5, False),
    ("ENG05", "engagement", "Ik denk er vaak over om ergens anders te gaan werken.", 1, 5, True),
    ("CLA01", "clarity", "Ik weet wat er van mij verwacht wordt.", 1, 5, False),
    ("CLA02", "clarity", "De doelen van mijn team zijn helder.", 1, 5, False),
    ("REC01", "recognition", "Goed werk wordt hier gezien.", 1, 5, False),
    ("REC02", "recognition", "Ik krijg waardering voor mijn bijdrage.", 1, 5, False),
    ("GRO01", "growth", "Ik kan me hier verder ontwikkelen.", 1, 5, False),
    ("GRO02", "growth", "Er is ruimte voor opleiding en training.", 1, 5, False),
    ("MAN01", "manager_support", "Mijn leidinggevende steunt me als het nodig is.", 1, 5, False),
    ("MAN02", "manager_support", "Mijn leidinggevende geeft bruikbare feedback.", 1, 5, False),
    ("WRK01", "workload", "De hoeveelheid werk is goed te doen.", 1, 5, False),
    ("WRK02", "workload", "Ik ervaar structureel te veel werkdruk.", 1, 5, True),
    (
        "NPS01",
        "enps",
        "Hoe waarschijnlijk is het dat je deze organisatie aanbeveelt als werkgever?",
        0,
        10,
        False,
    ),
]

# How a driver construct's answers follow the respondent's engagement and the team climate
# (the manager), and how noisy they are.
DRIVER_WEIGHTS = {"manager_support": (0.8, 0.4, 0.3), "default": (0.35, 0.3, 0.7)}


@dataclass
class GeneratorConfig:
    out: Path
    employees: int = 2000
    years: int = 5
    start: dt.date = dt.date(2021, 1, 1)
    seed: int = 42
    snapshots: int = 3
    chunk_slots: int = 50_000


@dataclass
class GenerationSummary:
    out: Path
    deliveries: int = 0
    files: int = 0
    rows: dict[str, int] = field(default_factory=dict)


def day(value: dt.date) -> int:
    return (value - EPOCH).days


def as_date(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Int32).cast(pl.Date)


def _month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    months, current = [], dt.date(start.year, start.month, 1)
    while current <= end:
        months.append(current)
        current = dt.date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


def _delivery_stamp(value: dt.date, hour: int = 2) -> str:
    return f"{value:%Y%m%d}T{hour:02d}0000"


def _write_xlsx(path: Path, frame: pl.DataFrame, sheet: str) -> None:
    """xlsx with fixed document properties, so the same content gives the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path))
    workbook.set_properties({"created": FIXED_XLSX_TIME})
    frame.write_excel(workbook, worksheet=sheet, autofit=False)
    workbook.close()


class Generator:
    def __init__(self, config: GeneratorConfig):
        self.config = config
        self.out = config.out
        self.start = config.start
        self.end = dt.date(
            config.start.year + config.years, config.start.month, config.start.day
        ) - dt.timedelta(days=1)
        self.start_day, self.end_day = day(self.start), day(self.end)
        self.months = _month_starts(self.start, self.end)
        self.month_start_days = np.array([day(m) for m in self.months])
        self.month_end_days = np.append(self.month_start_days[1:] - 1, self.end_day)
        last_months = self.months[-config.snapshots :]
        self.snapshot_days = [
            day(dt.date(m.year + m.month // 12, m.month % 12 + 1, 1)) - 1 for m in last_months
        ]
        self.snapshot_days[-1] = min(self.snapshot_days[-1], self.end_day)
        self.waves = self._waves()
        self.summary = GenerationSummary(config.out)
        self.files: dict[tuple, DeliveryFile] = {}
        self.month_rows: list[pl.DataFrame] = []
        self.planted: list[dict] = []
        self.invited: list[pl.DataFrame] = []
        # Chunks emitted so far: vacancy ids number within a chunk, and a unit's slots are spread
        # over every chunk, so the chunk is part of the id.
        self.chunks_emitted = 0

    # ---- plan -------------------------------------------------------------------------------
    def _waves(self) -> list[dict]:
        waves = []
        for year in range(self.start.year, self.end.year + 1):
            for season, month, anonymity in (
                ("voorjaar", 3, "confidential"),
                ("najaar", 10, "anonymous"),
            ):
                begin = dt.date(year, month, 1)
                finish = dt.date(year, month, 21)
                if begin >= self.start and finish <= self.end:
                    waves.append(
                        {
                            "wave_id": f"{year}-{1 if month == 3 else 2}",
                            "name": f"MTO {season} {year}",
                            "start_date": begin,
                            "end_date": finish,
                            "anonymity": anonymity,
                        }
                    )
        return waves

    def run(self) -> GenerationSummary:
        rng = np.random.default_rng(self.config.seed)
        self.org = build_organisation(self.config.employees, self.start_day, self.end_day, rng)
        self.sim = WorkforceSimulator(self.org, self.start_day, self.end_day)
        units = self.org.units
        n_units = units.height
        level = units["level"].to_numpy()
        manager_slots = Slots(
            team=np.arange(n_units),
            family=np.full(n_units, "Management"),
            rank=np.select([level == 4, level == 3], [1, 2], 3),
            open_day=np.full(n_units, self.start_day),
            initial=np.ones(n_units, dtype=bool),
            manager_of=np.arange(n_units),
        )
        manager_rng = np.random.default_rng([self.config.seed, 0])
        periods = self.sim.occupy(manager_slots, 1, manager_rng)
        self.sim.managers = ManagerIndex(
            periods.select(
                pl.col("slot").alias("unit"),
                "hire",
                pl.col("leave").fill_null(self.end_day + 10_000),
                "quality",
                pl.col("person").alias("employee_id"),
            )
        )
        self._emit(self.sim.complete(periods, manager_slots, manager_rng), manager_slots)
        next_person = periods["person"].max() + 1
        workers = self._worker_slots(rng, n_units)
        chunk = self.config.chunk_slots
        for index, begin in enumerate(range(0, len(workers.team), chunk)):
            part = Slots(
                *(getattr(workers, f)[begin : begin + chunk] for f in Slots.__dataclass_fields__)
            )
            chunk_rng = np.random.default_rng([self.config.seed, index + 1])
            periods = self.sim.occupy(part, next_person, chunk_rng)
            next_person = periods["period_person"].max() + 1
            self._emit(self.sim.complete(periods, part, chunk_rng), part)
        self._externals(np.random.default_rng([self.config.seed, 10**6]), next_person)
        for file in self.files.values():
            file.close()
        self._write_static()
        self._write_finance(np.random.default_rng([self.config.seed, 10**6 + 1]))
        self._write_manifests()
        return self.summary

    def _worker_slots(self, rng, n_units: int) -> Slots:
        base = max(self.config.employees - n_units, self.config.employees // 2)
        growth = round(self.config.employees * 0.015 * self.config.years)
        n = base + growth
        teams = rng.choice(self.org.teams, n)
        team_family = self.org.units["family"].to_numpy()[teams]
        family = np.where(rng.random(n) < 0.85, team_family, rng.choice(WORK_FAMILIES, n))
        ranks = np.array([len(JOB_FAMILIES[f]) for f in family])
        rank = np.minimum(1 + rng.geometric(0.55, n) - 1, ranks)
        open_day = np.where(
            np.arange(n) < base, self.start_day, rng.integers(self.start_day, self.end_day, n)
        )
        order = np.argsort(rng.random(n))  # mix growth slots into every chunk
        return Slots(
            team=teams[order],
            family=family[order],
            rank=np.maximum(rank, 1)[order],
            open_day=open_day[order],
            initial=(np.arange(n) < base)[order],
            manager_of=np.full(n, -1),
        )

    def _externals(self, rng, first_person: int) -> None:
        """Hired-in staff (inhuur/zzp): workforce in the HRIS, never in headcount."""
        n = max(3, self.config.employees // 30)
        begin = rng.integers(self.start_day - 200, self.end_day - 30, n)
        persons = np.arange(first_person, first_person + n)
        teams = rng.choice(self.org.teams, n)
        cao = self.sim.unit_cao[teams]
        frame = pl.DataFrame(
            {
                "person": persons,
                "period_person": persons,
                "generation": np.zeros(n, dtype=int),
                "valid_from": begin,
                "valid_to": begin + rng.integers(90, 540, n),
                "team": teams,
                "family": np.full(n, "ICT"),
                "rank": np.full(n, 2),
                "contract_type": np.full(n, "external"),
                "hours_per_week": np.minimum(cao, 36.0),
                "fulltime_hours": cao,
                "is_concurrent": [None] * n,
                "manages": np.full(n, -1),
                "job_code": np.full(n, "ICT02"),
                "org_unit_id": self.sim.unit_ids[teams],
                "cost_center": self.sim.unit_cost_center[teams],
                "monthly_salary": [None] * n,
                "manager_person": [None] * n,
                "entered": begin,
                "is_extra": np.ones(n, dtype=bool),
                "end_known": begin,
            },
            schema_overrides={
                "is_concurrent": pl.Boolean,
                "monthly_salary": pl.Float64,
                "manager_person": pl.Int64,
            },
        )
        frame = frame.with_columns(
            pl.when(pl.col("valid_to") > self.end_day)
            .then(None)
            .otherwise(pl.col("valid_to"))
            .alias("valid_to")
        )
        people = pl.DataFrame(
            {
                "person": persons,
                "birth": begin - rng.integers(25, 60, n) * 365,
                "original_hire": begin,
                "gender": rng.choice(["F", "M"], n),
            }
        )
        from generator.people import bsns, full_names

        people = people.with_columns(
            pl.Series("full_name", full_names(rng, n)), pl.Series("bsn", bsns(rng, n))
        )
        for index, snapshot in enumerate(self.snapshot_days):
            self._write_persons(index, snapshot, people)
            self._write_contracts(index, snapshot, frame)

    # ---- per chunk --------------------------------------------------------------------------
    def _file(self, key: tuple, path: Path, source: str, entity: str, style: FileStyle):
        if key not in self.files:
            self.files[key] = DeliveryFile(path, source, entity, style)
        return self.files[key]

    def _hris_dir(self, index: int) -> Path:
        snapshot = EPOCH + dt.timedelta(days=self.snapshot_days[index] + 1)
        return self.out / "hris" / _delivery_stamp(snapshot)

    def _hris_file(self, index: int, entity: str, style: FileStyle) -> DeliveryFile:
        extension = "parquet" if style.format == "parquet" else style.format
        path = self._hris_dir(index) / f"{entity}.{extension}"
        return self._file(("hris", index, entity), path, "hris", entity, style)

    @staticmethod
    def employee_id(column: str) -> pl.Expr:
        return (pl.col(column) + 100_000).cast(pl.String)

    def _emit(self, result, slots: Slots) -> None:
        contracts = self._with_end_known(result.contracts, result.terminations)
        chunk = self.chunks_emitted
        self.chunks_emitted += 1
        for index, snapshot in enumerate(self.snapshot_days):
            self._write_persons(index, snapshot, result.persons)
            self._write_contracts(index, snapshot, contracts)
            self._write_terminations(index, snapshot, result.terminations)
            self._write_absences(index, snapshot, result.absences, result.milestones)
            self._write_vacancies(index, snapshot, result.vacancies, chunk)
        self._write_survey(result)
        self._accumulate_months(result, contracts)

    def _write_persons(self, index: int, snapshot: int, persons: pl.DataFrame) -> None:
        rows = persons.filter(pl.col("original_hire") <= snapshot).select(
            self.employee_id("person").alias("employee_id"),
            "bsn",
            "full_name",
            as_date(pl.col("birth")).alias("birth_date"),
            "gender",
            as_date(pl.col("original_hire")).alias("original_hire_date"),
        )
        self._hris_file(index, "employees", DUTCH).append(rows)

    @staticmethod
    def _with_end_known(contracts: pl.DataFrame, terminations: pl.DataFrame) -> pl.DataFrame:
        """The day each contract's end date was keyed: when its successor or the exit was."""
        main = contracts.filter(~pl.col("is_extra")).with_columns(
            pl.col("entered")
            .shift(-1)
            .over("period_person", order_by="valid_from")
            .alias("next_entered")
        )
        main = main.join(
            terminations.select("period_person", pl.col("entered").alias("exit_entered")),
            on="period_person",
            how="left",
            maintain_order="left",
        )
        main = main.with_columns(pl.coalesce("next_entered", "exit_entered").alias("end_known"))
        extra = contracts.filter(pl.col("is_extra")).with_columns(
            pl.col("valid_from").alias("end_known")
        )
        return pl.concat([main.drop("next_entered", "exit_entered"), extra])

    def _write_contracts(self, index: int, snapshot: int, contracts: pl.DataFrame) -> None:
        # A change keyed in late is missing from this snapshot and its predecessor stays open,
        # until a later snapshot restates history: the backdated correction the warehouse absorbs.
        known = contracts.filter(pl.col("entered") <= snapshot).with_columns(
            pl.when((pl.col("valid_to") <= snapshot) & (pl.col("end_known") <= snapshot))
            .then(pl.col("valid_to"))
            .alias("valid_to")
        )
        # Concurrent assignments can start on the same day: number them after the first.
        ordinal = (
            pl.int_range(pl.len())
            .over(
                ["period_person", "valid_from"],
                order_by=["is_extra", "org_unit_id", "job_code", "contract_type", "hours_per_week"],
            )
            .cast(pl.String)
        )
        rows = known.sort("person", "valid_from").select(
            pl.when(ordinal == "0")
            .then(pl.format("C{}-{}", pl.col("period_person"), pl.col("valid_from")))
            .otherwise(
                pl.format("C{}-{}-{}", pl.col("period_person"), pl.col("valid_from"), ordinal)
            )
            .alias("contract_id"),
            self.employee_id("person").alias("employee_id"),
            as_date(pl.col("valid_from")).alias("valid_from"),
            as_date(pl.col("valid_to")).alias("valid_to"),
            "org_unit_id",
            "job_code",
            "cost_center",
            "contract_type",
            "hours_per_week",
            "fulltime_hours",
            "monthly_salary",
            self.employee_id("manager_person").alias("manager_employee_id"),
            "is_concurrent",
        )
        self._hris_file(index, "contracts", DUTCH if index % 2 == 0 else CANONICAL).append(rows)

    def _write_terminations(self, index: int, snapshot: int, terminations: pl.DataFrame) -> None:
        rows = terminations.filter(
            (pl.col("entered") <= snapshot) & (pl.col("termination_date") <= snapshot)
        ).select(
            self.employee_id("person").alias("employee_id"),
            as_date(pl.col("termination_date")).alias("termination_date"),
            "reason_code",
            "initiative",
            "is_regretted",
        )
        self._hris_file(index, "terminations", BOM).append(rows)

    def _write_absences(self, index, snapshot, absences, milestones) -> None:
        rows = absences.filter(pl.col("start_date") <= snapshot).select(
            "absence_id",
            self.employee_id("person").alias("employee_id"),
            as_date(pl.col("start_date")).alias("start_date"),
            as_date(pl.when(pl.col("end_date") <= snapshot).then(pl.col("end_date"))).alias(
                "end_date"
            ),
            "incapacity_pct",
            "absence_type",
        )
        self._hris_file(index, "absences", PARQUET).append(rows)
        done = milestones.filter(pl.col("completed_date") <= snapshot).select(
            "absence_id", "milestone", as_date(pl.col("completed_date")).alias("completed_date")
        )
        self._hris_file(index, "absence_milestones", CANONICAL).append(done)

    def _write_vacancies(self, index, snapshot, vacancies, chunk: int) -> None:
        self._hris_file(index, "vacancies", DUTCH).append(
            self.vacancy_rows(vacancies, snapshot, chunk)
        )

    @classmethod
    def vacancy_rows(cls, vacancies: pl.DataFrame, snapshot: int, chunk: int) -> pl.DataFrame:
        """The vacancies file's rows of one chunk as the HR system knows them on `snapshot`."""
        rows = (
            vacancies.filter(pl.col("opened") <= snapshot)
            .with_columns(
                pl.when(pl.col("filled") <= snapshot).then(pl.col("filled")).alias("filled"),
                pl.when(pl.col("cancelled") <= snapshot)
                .then(pl.col("cancelled"))
                .alias("cancelled"),
            )
            .with_columns(
                pl.when(pl.col("filled").is_not_null()).then(pl.col("hired_person")).alias("hired"),
                pl.when(pl.col("filled").is_not_null())
                .then(pl.col("is_internal_hire"))
                .alias("is_internal_hire"),
            )
        )
        rows = (
            rows.with_columns(
                pl.int_range(pl.len())
                .over(
                    ["opened", "org_unit_id", "job_code"],
                    order_by=[pl.col("hired_person").fill_null(-1), "fte"],
                )
                .alias("n")
            )
            .select(
                # Unfilled vacancies of two chunks can share day, unit and job (3,670 ids twice
                # at 1,000,000 employees): the chunk makes them distinct.
                pl.format(
                    "VAC{}-{}-{}-{}-{}",
                    pl.col("opened"),
                    "org_unit_id",
                    "job_code",
                    pl.lit(chunk),
                    pl.col("n"),
                ).alias("vacancy_id"),
                "org_unit_id",
                "job_code",
                "fte",
                as_date(pl.col("opened")).alias("opened_date"),
                as_date(pl.col("filled")).alias("filled_date"),
                as_date(pl.col("cancelled")).alias("cancelled_date"),
                cls.employee_id("hired").alias("hired_employee_id"),
                "is_internal_hire",
            )
            .unique("vacancy_id", keep="first", maintain_order=True)
        )
        return rows

    def _write_survey(self, result) -> None:
        contracts = result.contracts.filter(
            (pl.col("contract_type") != "external") & ~pl.col("is_concurrent").fill_null(False)
        )
        for number, wave in enumerate(self.waves):
            at = day(wave["start_date"])
            active = contracts.filter(
                (pl.col("valid_from") <= at)
                & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= at))
            ).unique("person", keep="first", maintain_order=True)
            if active.height == 0:
                continue
            rng = np.random.default_rng([self.config.seed, 7, number, int(active["person"][0])])
            climate = self.sim.managers.lookup(
                active["team"].to_numpy(), np.full(active.height, at)
            )["climate"]
            climate = climate.fill_null(0.0).to_numpy()
            self.invited.append(
                active.group_by("org_unit_id", maintain_order=True)
                .agg(pl.len().alias("invited"))
                .with_columns(pl.lit(wave["wave_id"]).alias("wave_id"))
            )
            answers = rng.random(active.height) < 0.62 + 0.08 * np.tanh(climate)
            respondents = active.filter(pl.Series(answers))
            k = respondents.height
            if k == 0:
                continue
            engagement = 0.65 * climate[answers] + rng.normal(0, 0.75, k)
            tokens = [
                f"R{wave['wave_id'].replace('-', '')}{v:012x}" for v in rng.integers(0, 1 << 48, k)
            ]
            frames = []
            for item_id, construct, _, low, high, reverse in ITEMS:
                if construct in ("engagement", "enps"):
                    latent = engagement
                else:
                    # People engage through their manager: manager support moves with
                    # engagement most, the driver analysis should find that.
                    with_engagement, with_climate, noise = DRIVER_WEIGHTS.get(
                        construct, DRIVER_WEIGHTS["default"]
                    )
                    latent = (
                        with_engagement * engagement
                        + with_climate * climate[answers]
                        + rng.normal(0, noise, k)
                    )
                if construct == "enps":
                    score = np.clip(np.round(7.2 + 1.6 * latent + rng.normal(0, 1.0, k)), 0, 10)
                else:
                    raw = 3.6 + 0.75 * latent + rng.normal(0, 0.6, k)
                    score = np.clip(np.round(6 - raw if reverse else raw), low, high)
                skipped = rng.random(k) < 0.03
                frames.append(
                    pl.DataFrame(
                        {
                            "respondent_id": tokens,
                            "item_id": [item_id] * k,
                            "score": np.where(skipped, np.nan, score),
                        }
                    ).with_columns(pl.col("score").fill_nan(None))
                )
            confidential = wave["anonymity"] == "confidential"
            base = pl.DataFrame(
                {
                    "respondent_id": tokens,
                    "org_unit_id": respondents["org_unit_id"],
                    "employee_id": (respondents["person"] + 100_000).cast(pl.String)
                    if confidential
                    else pl.Series([None] * k, dtype=pl.String),
                    "submitted_at": [
                        dt.datetime.combine(wave["start_date"], dt.time(9))
                        + dt.timedelta(minutes=int(m))
                        for m in rng.integers(0, 20 * 24 * 60, k)
                    ],
                }
            )
            rows = (
                pl.concat(frames)
                .join(base, on="respondent_id", maintain_order="left")
                .select(
                    pl.lit(wave["wave_id"]).alias("wave_id"),
                    "respondent_id",
                    "org_unit_id",
                    "employee_id",
                    "item_id",
                    "score",
                    "submitted_at",
                )
            )
            path = self._survey_dir(wave) / "responses.parquet"
            self._file(("survey", wave["wave_id"]), path, "survey", "responses", PARQUET).append(
                rows
            )

    def _survey_dir(self, wave: dict) -> Path:
        return self.out / "survey" / _delivery_stamp(wave["end_date"] + dt.timedelta(days=3), 6)

    def _accumulate_months(self, result, contracts: pl.DataFrame) -> None:
        """HR's month figures per cost center, as the newest snapshot knows them (a change keyed
        after it is not a payroll difference the truth file could name); payroll is derived from
        them later, plus the planted differences."""
        final = self.snapshot_days[-1]
        contracts = contracts.filter(
            (pl.col("contract_type") != "external") & (pl.col("entered") <= final)
        ).with_columns(
            pl.when((pl.col("valid_to") <= final) & (pl.col("end_known") <= final))
            .then(pl.col("valid_to"))
            .otherwise(None)
            .fill_null(self.end_day)
            .alias("valid_to"),
            (pl.col("hours_per_week") / pl.col("fulltime_hours")).round(4).alias("factor"),
        )
        contracts = contracts.filter(pl.col("valid_to") >= self.start_day)
        first = (
            np.searchsorted(self.month_start_days, contracts["valid_from"].to_numpy(), side="right")
            - 1
        )
        last = (
            np.searchsorted(self.month_start_days, contracts["valid_to"].to_numpy(), side="right")
            - 1
        )
        exploded = (
            contracts.with_columns(
                pl.int_ranges(pl.Series(np.maximum(first, 0)), pl.Series(last) + 1).alias("month")
            )
            .explode("month")
            .filter(pl.col("month").is_not_null())
        )
        month_start = pl.Series(self.month_start_days)
        month_end = pl.Series(self.month_end_days)
        exploded = exploded.with_columns(
            pl.col("month").map_batches(lambda m: month_start.gather(m)).alias("ms"),
            pl.col("month").map_batches(lambda m: month_end.gather(m)).alias("me"),
        ).with_columns(
            (pl.min_horizontal("valid_to", "me") - pl.max_horizontal("valid_from", "ms") + 1).alias(
                "days"
            )
        )
        exploded = exploded.with_columns((pl.col("valid_to") >= pl.col("me")).alias("at_month_end"))
        family_of = self.org.jobs.select("job_code", pl.col("job_family"))
        monthly = (
            exploded.join(family_of, on="job_code", maintain_order="left")
            .group_by("cost_center", "job_family", "month")
            .agg(
                (pl.col("days") * pl.col("factor")).sum().alias("fte_days"),
                (pl.col("days") * pl.col("monthly_salary")).sum().alias("salary_days"),
                pl.col("person").filter(pl.col("at_month_end")).n_unique().alias("month_end_heads"),
            )
        )
        self.month_rows.append(monthly)
        leavers = result.terminations.filter(pl.col("termination_date") < self.month_start_days[-1])
        rng = np.random.default_rng([self.config.seed, 11, int(result.persons["person"][0])])
        late = leavers.filter(pl.Series(rng.random(leavers.height) < 0.03))
        if late.height:
            last_contract = (
                result.contracts.sort("valid_from")
                .group_by("period_person", maintain_order=True)
                .last()
            )
            late = late.join(
                last_contract.select(
                    "period_person",
                    "cost_center",
                    "hours_per_week",
                    "fulltime_hours",
                    "monthly_salary",
                    "contract_type",
                ),
                on="period_person",
                maintain_order="left",
            ).filter(pl.col("contract_type") != "external")
            for person, leave, cost_center, hours, full, salary in late.select(
                "person",
                "termination_date",
                "cost_center",
                "hours_per_week",
                "fulltime_hours",
                "monthly_salary",
            ).iter_rows():
                month = int(np.searchsorted(self.month_start_days, leave, side="right") - 1) + 1
                self.planted.append(
                    {
                        "kind": "leaver_paid_one_month_late",
                        "cost_center": cost_center,
                        "period": f"{self.months[month]:%Y-%m}",
                        "employee_id": str(person + 100_000),
                        "paid_fte": round(hours / full, 4),
                        "paid_headcount": 1,
                        "gross_salary_cost": round(salary or 0.0, 2),
                    }
                )

    # ---- whole-organisation files -----------------------------------------------------------
    def _write_static(self) -> None:
        units = self.org.units
        for index, snapshot in enumerate(self.snapshot_days):
            directory = self._hris_dir(index)
            managers = self.sim.managers.lookup(
                np.arange(units.height), np.full(units.height, snapshot)
            )["manager"]
            org_units = units.select("org_unit_id", "name", "parent_org_unit_id").with_columns(
                (managers + 100_000).cast(pl.String).alias("manager_employee_id"),
                pl.lit(dt.date(2000, 1, 1)).alias("valid_from"),
                pl.lit(None, pl.Date).alias("valid_to"),
            )
            _write_xlsx(directory / "org_units.xlsx", org_units, "org_units")
            _write_xlsx(directory / "jobs.xlsx", self.org.jobs, "jobs")
            self.summary.deliveries += 1
        items = pl.DataFrame(
            ITEMS,
            orient="row",
            schema=["item_id", "construct", "text", "scale_min", "scale_max", "is_reverse_scored"],
        )
        invited = (
            pl.concat(self.invited)
            .group_by("wave_id", "org_unit_id", maintain_order=True)
            .agg(pl.col("invited").sum())
            if self.invited
            else None
        )
        for wave in self.waves:
            directory = self._survey_dir(wave)
            directory.mkdir(parents=True, exist_ok=True)
            _write_xlsx(directory / "waves.xlsx", pl.DataFrame([wave]), "waves")
            writers.write_whole(directory / "items.csv", "survey", "items", CANONICAL, items)
            if invited is not None:
                rows = invited.filter(pl.col("wave_id") == wave["wave_id"]).sort("org_unit_id")
                writers.write_whole(
                    directory / "invitations.csv",
                    "survey",
                    "invitations",
                    DUTCH,
                    rows.select("wave_id", "org_unit_id", "invited"),
                )
            self.summary.deliveries += 1

    def _write_finance(self, rng) -> None:
        monthly = (
            pl.concat(self.month_rows)
            .group_by("cost_center", "job_family", "month", maintain_order=True)
            .agg(
                pl.col("fte_days").sum(),
                pl.col("salary_days").sum(),
                pl.col("month_end_heads").sum(),
            )
        )
        days_in_month = pl.Series(self.month_end_days - self.month_start_days + 1)
        per_cc = (
            monthly.group_by("cost_center", "month", maintain_order=True)
            .agg(
                pl.col("fte_days").sum(),
                pl.col("salary_days").sum(),
                pl.col("month_end_heads").sum(),
            )
            .with_columns(
                pl.col("month").map_batches(lambda m: days_in_month.gather(m)).alias("days")
            )
        )
        per_cc = per_cc.with_columns(
            (pl.col("fte_days") / pl.col("days")).alias("paid_fte"),
            (pl.col("salary_days") / pl.col("days")).alias("gross"),
        )
        planted = pl.DataFrame(
            self.planted,
            schema={
                "kind": pl.String,
                "cost_center": pl.String,
                "period": pl.String,
                "employee_id": pl.String,
                "paid_fte": pl.Float64,
                "paid_headcount": pl.Int64,
                "gross_salary_cost": pl.Float64,
            },
        )
        board = pl.DataFrame(
            [
                {
                    "kind": "unmapped_cost_center",
                    "cost_center": UNMAPPED_COST_CENTER,
                    "period": f"{m:%Y-%m}",
                    "employee_id": None,
                    "paid_fte": 3.0,
                    "paid_headcount": 3,
                    "gross_salary_cost": 3 * 14_500.0,
                }
                for m in self.months
            ],
            schema=planted.schema,
        )
        planted = pl.concat([planted, board])
        extra = planted.group_by("cost_center", "period", maintain_order=True).agg(
            pl.col("paid_fte").sum().alias("extra_fte"),
            pl.col("paid_headcount").sum().alias("extra_heads"),
            pl.col("gross_salary_cost").sum().alias("extra_gross"),
        )
        period_of = {i: f"{m:%Y-%m}" for i, m in enumerate(self.months)}
        payroll = (
            per_cc.with_columns(
                pl.col("month").replace_strict(period_of, return_dtype=pl.String).alias("period")
            )
            .join(
                extra,
                on=["cost_center", "period"],
                how="full",
                coalesce=True,
                maintain_order="left_right",
            )
            .with_columns(
                (pl.col("paid_fte").fill_null(0) + pl.col("extra_fte").fill_null(0))
                .round(4)
                .alias("paid_fte"),
                (pl.col("month_end_heads").fill_null(0) + pl.col("extra_heads").fill_null(0))
                .cast(pl.Int64)
                .alias("paid_headcount"),
                (pl.col("gross").fill_null(0) + pl.col("extra_gross").fill_null(0))
                .round(2)
                .alias("gross_salary_cost"),
            )
            .with_columns((pl.col("gross_salary_cost") * 0.285).round(2).alias("employer_charges"))
        )
        payroll = payroll.select(
            "period",
            "cost_center",
            "paid_fte",
            "paid_headcount",
            "gross_salary_cost",
            "employer_charges",
        ).sort("period", "cost_center")
        truth = self.out / ".truth"
        truth.mkdir(parents=True, exist_ok=True)
        planted.write_csv(truth / "planted_payroll_differences.csv")
        families = self.org.units.select("cost_center", "family").unique("cost_center")
        gl = self._gl_entries(payroll, families, rng)
        restated = len(self.months) // 2
        for index, month in enumerate(self.months):
            period = f"{month:%Y-%m}"
            stamp = month + dt.timedelta(days=40)
            directory = self.out / "finance" / _delivery_stamp(dt.date(stamp.year, stamp.month, 5))
            periods = [period]
            entries = gl.filter(pl.col("period") == period)
            if index == restated + 1:
                previous = f"{self.months[restated]:%Y-%m}"
                periods.append(previous)
                correction = gl.filter(pl.col("period") == previous).with_columns(
                    pl.when(pl.col("account_class") == "revenue")
                    .then((pl.col("amount") * 1.02).round(2))
                    .otherwise(pl.col("amount"))
                    .alias("amount")
                )
                entries = pl.concat([correction, entries])
                (truth / "restated_periods.json").write_text(
                    json.dumps(
                        {
                            "period": previous,
                            "restated_in_delivery": directory.name,
                            "revenue_factor": 1.02,
                        }
                    )
                )
            writers.write_whole(
                directory / "gl_entries.csv", "finance", "gl_entries", DUTCH, entries
            )
            writers.write_whole(
                directory / "payroll.csv",
                "finance",
                "payroll",
                CANONICAL,
                payroll.filter(pl.col("period").is_in(periods)),
            )
            _write_xlsx(directory / "cost_centers.xlsx", self.org.cost_centers, "cost_centers")
            if month.month == 1 or index == 0:
                _write_xlsx(
                    directory / "formation.xlsx",
                    self._formation(monthly, month.year, rng),
                    "formation",
                )
            self.summary.deliveries += 1
        self._write_planning(monthly, rng)

    def _gl_entries(self, payroll: pl.DataFrame, families: pl.DataFrame, rng) -> pl.DataFrame:
        frame = payroll.join(families, on="cost_center", how="left", maintain_order="left")
        n = frame.height
        season = 1 + 0.08 * np.sin(
            2 * np.pi * frame["period"].str.slice(5, 2).cast(pl.Int64).to_numpy() / 12
        )
        sells = frame["family"].is_in(list(REVENUE_FAMILIES)).to_numpy()
        revenue = np.where(
            sells, frame["paid_fte"].to_numpy() * 11_500 * season * rng.normal(1, 0.05, n), 0.0
        )
        parts = []
        lines = [
            ("8000", "revenue", revenue),
            ("4000", "personnel_cost", frame["gross_salary_cost"].to_numpy()),
            ("4100", "personnel_cost", frame["employer_charges"].to_numpy()),
            ("4200", "personnel_cost", frame["paid_fte"].to_numpy() * 310),
            ("4500", "other_cost", frame["paid_fte"].to_numpy() * 640 * rng.normal(1, 0.1, n)),
            ("4600", "other_cost", frame["paid_fte"].to_numpy() * 380 * rng.normal(1, 0.1, n)),
            ("4900", "other_cost", frame["paid_fte"].to_numpy() * 150 * rng.normal(1, 0.2, n)),
        ]
        for account, account_class, amount in lines:
            parts.append(
                frame.select("period", "cost_center").with_columns(
                    pl.lit(account).alias("account"),
                    pl.lit(account_class).alias("account_class"),
                    pl.Series("amount", np.round(amount, 2)),
                )
            )
        entries = (
            pl.concat(parts).filter(pl.col("amount") != 0).sort("period", "cost_center", "account")
        )
        return entries.with_columns(
            pl.format(
                "GL{}-{}",
                pl.col("period").str.replace("-", ""),
                pl.int_range(pl.len()).over("period"),
            ).alias("entry_id"),
            (pl.col("period") + "-28").str.to_date().alias("booking_date"),
        ).select(
            "entry_id",
            "booking_date",
            "period",
            "cost_center",
            "account",
            "account_class",
            "amount",
        )

    def _formation(self, monthly: pl.DataFrame, year: int, rng) -> pl.DataFrame:
        months = [i for i, m in enumerate(self.months) if m.year == year]
        days = int((self.month_end_days[months] - self.month_start_days[months] + 1).sum())
        actual = (
            monthly.filter(pl.col("month").is_in(months))
            .group_by("cost_center", "job_family")
            .agg((pl.col("fte_days").sum() / days).alias("fte"))
        )
        actual = actual.sort("cost_center", "job_family")
        factor = rng.normal(1.03, 0.05, actual.height)
        return actual.select(
            pl.lit(year).alias("year"),
            "cost_center",
            "job_family",
            (pl.col("fte") * pl.Series(factor)).round(1).alias("budget_fte"),
        )

    def _write_planning(self, monthly: pl.DataFrame, rng) -> None:
        last = len(self.months) - 1
        days = int(self.month_end_days[last] - self.month_start_days[last] + 1)
        fte = (
            monthly.filter(pl.col("month") == last)
            .group_by("job_family", maintain_order=True)
            .agg((pl.col("fte_days").sum() / days).alias("fte"))
            .sort("job_family")
        )
        rows = []
        for scenario, growth in (("basis", 0.01), ("groei", 0.045), ("krimp", -0.025)):
            for ahead in range(1, 6):
                for family, value in fte.iter_rows():
                    wobble = 1 + rng.normal(0, 0.01)
                    rows.append(
                        (
                            scenario,
                            self.end.year + ahead,
                            family,
                            round(value * (1 + growth) ** ahead * wobble, 1),
                        )
                    )
        frame = pl.DataFrame(
            rows, orient="row", schema=["scenario", "year", "job_family", "demand_fte"]
        )
        stamp = self.end + dt.timedelta(days=10)
        _write_xlsx(
            self.out / "planning" / _delivery_stamp(stamp) / "demand_scenarios.xlsx",
            frame,
            "demand_scenarios",
        )
        self.summary.deliveries += 1

    def _write_manifests(self) -> None:
        for index in range(len(self.snapshot_days)):
            directory = self._hris_dir(index)
            entries = {}
            for path in sorted(directory.iterdir()):
                if path.name == "manifest.json":
                    continue
                entries[path.name] = {"rows": _rows_of(path), "sha256": _sha(path)}
            (directory / "manifest.json").write_text(json.dumps({"files": entries}, indent=2))
        counted = sorted(
            p
            for p in self.out.rglob("*")
            if p.is_file() and ".truth" not in p.parts and p.name != "manifest.json"
        )
        self.summary.files = len(counted)
        for _key, file in self.files.items():
            self.summary.rows[file.entity] = self.summary.rows.get(file.entity, 0) + file.rows


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows_of(path: Path) -> int:
    if path.suffix == ".parquet":
        return pl.scan_parquet(path).select(pl.len()).collect().item()
    if path.suffix == ".xlsx":
        return pl.read_excel(path, infer_schema_length=0).height
    data = path.read_bytes()
    return max(data.count(b"\n") - 1, 0)


def generate(config: GeneratorConfig) -> GenerationSummary:
    return Generator(config).run()
