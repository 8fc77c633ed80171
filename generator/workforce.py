"""Simulate people over time: hires, contracts, moves, exits, re-hires, sick leave, vacancies.

The simulation works on positions ("slots"): each slot is held by a chain of occupants, and a
leaver's slot is refilled through a vacancy. Dates are integer days since 1970-01-01. Everything
is drawn from one seeded generator per chunk, so a chunk's output depends only on the seed and
the chunk number, and memory stays bounded whatever the organisation's size.
"""

from dataclasses import dataclass

import numpy as np
import polars as pl

from generator.organisation import JOB_FAMILIES, Organisation
from generator.people import bsns, full_names

YEAR = 365.25
MILESTONE_DAYS = {
    "problem_analysis": 42,
    "action_plan": 56,
    "uwv_notification": 294,
    "first_year_evaluation": 364,
    "wia_application": 651,
}
VOLUNTARY_REASONS = ["other_job", "career", "pay", "manager", "workload", "relocation", "study"]
VOLUNTARY_WEIGHTS = np.array([0.34, 0.18, 0.14, 0.12, 0.1, 0.08, 0.04])


@dataclass
class Slots:
    """A block of positions to simulate."""

    team: np.ndarray  # row index into organisation.units
    family: np.ndarray  # job family name per slot
    rank: np.ndarray  # job rank within the family (1-based)
    open_day: np.ndarray  # day the position exists from
    initial: np.ndarray  # held by someone already at the start of the horizon
    manager_of: np.ndarray  # unit row index this slot manages, -1 for workers


@dataclass
class ManagerIndex:
    """Who manages which unit when: an as-of lookup for contracts and survey climate."""

    periods: pl.DataFrame  # unit, hire, leave, employee_id, quality

    def lookup(self, unit: np.ndarray, day: np.ndarray) -> pl.DataFrame:
        query = pl.DataFrame(
            {
                "unit": unit.astype(np.int64),
                "day": day.astype(np.int64),
                "order": np.arange(len(unit)),
            }
        )
        found = query.sort("day").join_asof(
            self.periods.sort("hire"),
            left_on="day",
            right_on="hire",
            by="unit",
            strategy="backward",
            check_sortedness=False,
        )
        found = found.with_columns(
            pl.when(pl.col("day") <= pl.col("leave")).then(pl.col("employee_id")).alias("manager"),
            pl.when(pl.col("day") <= pl.col("leave"))
            .then(pl.col("quality"))
            .otherwise(0.0)
            .alias("climate"),
        )
        return found.sort("order").select("manager", "climate")


@dataclass
class Simulation:
    persons: pl.DataFrame
    periods: pl.DataFrame
    contracts: pl.DataFrame
    terminations: pl.DataFrame
    absences: pl.DataFrame
    milestones: pl.DataFrame
    vacancies: pl.DataFrame


class WorkforceSimulator:
    def __init__(self, organisation: Organisation, start: int, end: int):
        self.org = organisation
        self.start, self.end = start, end
        units = organisation.units
        self.unit_ids = units["org_unit_id"].to_numpy().astype(str)
        self.unit_parent = (
            units.join(
                units.select(
                    pl.col("org_unit_id").alias("parent_org_unit_id"),
                    pl.int_range(pl.len()).alias("parent_row"),
                ),
                on="parent_org_unit_id",
                how="left",
                maintain_order="left",
            )["parent_row"]
            .fill_null(-1)
            .to_numpy()
        )
        self.unit_cao = units["cao_hours"].to_numpy()
        self.unit_cost_center = units["cost_center"].to_numpy().astype(str)
        self.unit_division = units["division"].to_numpy()
        self.teams_by_division = {
            d: organisation.teams[self.unit_division[organisation.teams] == d]
            for d in np.unique(self.unit_division[organisation.teams])
        }
        self.job_codes = {
            (fam, i + 1): f"{fam[:3].upper()}{i + 1:02d}"
            for fam, titles in JOB_FAMILIES.items()
            for i in range(len(titles))
        }
        self.job_levels = {
            (fam, i + 1): lvl
            for fam, titles in JOB_FAMILIES.items()
            for i, (_, lvl) in enumerate(titles)
        }
        self.family_ranks = {fam: len(titles) for fam, titles in JOB_FAMILIES.items()}
        self.managers: ManagerIndex | None = None

    # ---- occupancy --------------------------------------------------------------------------
    def occupy(self, slots: Slots, first_person: int, rng: np.random.Generator) -> pl.DataFrame:
        """Employment periods of every slot's chain of occupants, re-hires included."""
        return self._rehire(self._occupy(slots, first_person, rng), rng)

    def complete(self, periods: pl.DataFrame, slots: Slots, rng: np.random.Generator) -> Simulation:
        """Contracts, exits, people, sick leave and vacancies for simulated periods."""
        contracts, moves = self._contracts(periods, slots, rng)
        terminations = self._terminations(periods, rng)
        persons = self._persons(periods, rng)
        absences, milestones = self._absences(periods, persons, rng)
        vacancies = self._vacancies(periods, moves, slots, rng)
        return Simulation(
            persons, periods, contracts, terminations, absences, milestones, vacancies
        )

    def _occupy(self, slots: Slots, first_person: int, rng) -> pl.DataFrame:
        n = len(slots.team)
        is_manager = slots.manager_of >= 0
        age = np.where(
            slots.initial,
            np.clip(rng.normal(43, 10.5, n), 19, 66),
            np.clip(21 + rng.gamma(2.0, 5.5, n), 18, 62),
        )
        tenure = np.minimum(rng.exponential(8.0 * YEAR, n), (age - 18) * YEAR)
        vacancy_open = slots.open_day.astype(np.int64)
        hire = np.where(
            slots.initial, self.start - tenure, vacancy_open + 20 + rng.gamma(2.0, 22.0, n)
        ).astype(np.int64)
        out = []
        generation = 0
        active = hire <= self.end
        while active.any():
            idx = np.flatnonzero(active)
            k = len(idx)
            h = hire[idx]
            birth = (h - age[idx] * YEAR).astype(np.int64)
            climate = np.zeros(k)
            if self.managers is not None and not is_manager[idx].all():
                climate = self.managers.lookup(slots.team[idx], h)["climate"].fill_null(0.0)
                climate = climate.to_numpy()
            quality = rng.normal(0, 1, k)
            contract_type = np.where(
                is_manager[idx] | (slots.initial[idx] & (generation == 0)),
                rng.choice(["permanent", "fixed_term", "on_call"], k, p=[0.86, 0.07, 0.07]),
                rng.choice(
                    ["permanent", "fixed_term", "on_call", "intern"], k, p=[0.50, 0.38, 0.08, 0.04]
                ),
            )
            contract_type = np.where(is_manager[idx], "permanent", contract_type)
            age_at_hire = age[idx]
            hazard = np.where(is_manager[idx], 0.06, 0.088) * np.exp(-0.45 * climate)
            hazard *= np.where(age_at_hire < 30, 1.35, np.where(age_at_hire > 55, 0.55, 1.0))
            leave = h + rng.exponential(YEAR / hazard, k)
            early = rng.random(k) < np.where(is_manager[idx], 0.02, 0.05)
            leave = np.where(early, h + rng.uniform(30, 364, k), leave)
            reason = np.full(k, "", dtype=object)
            fixed = contract_type == "fixed_term"
            not_renewed = fixed & (leave > h + 364) & (rng.random(k) < 0.28)
            leave = np.where(not_renewed, h + 364, leave)
            reason[not_renewed] = "end_of_fixed_term"
            intern = contract_type == "intern"
            leave = np.where(intern, np.minimum(leave, h + 181), leave)
            reason[intern & (leave == h + 181)] = "study"
            aow = birth + np.where(birth >= -3287, 67.25, 67.0) * YEAR  # born 1961+: 67y3m
            retire = aow - 1 < leave
            leave = np.where(retire, aow - 1, leave)
            reason[retire] = "retirement"
            leave = np.maximum(leave.astype(np.int64), h)
            ongoing = leave > self.end
            out.append(
                pl.DataFrame(
                    {
                        "slot": idx,
                        "generation": np.full(k, generation),
                        "hire": h,
                        "leave": np.where(ongoing, -1, leave),
                        "birth": birth,
                        "contract_type": contract_type.astype(str),
                        "reason": reason.astype(str),
                        "quality": quality,
                        "climate": climate,
                        "vacancy_open": vacancy_open[idx],
                    }
                )
            )
            next_open = leave - rng.integers(0, 45, k)
            next_hire = leave + 1 + (15 + rng.gamma(2.0, 24.0, k)).astype(np.int64)
            hire[idx] = next_hire
            vacancy_open[idx] = np.maximum(next_open, h + 1)
            age[idx] = np.clip(21 + rng.gamma(2.0, 6.0, k), 18, 62)
            active[:] = False
            active[idx] = ~ongoing & (next_hire <= self.end)
            generation += 1
        periods = pl.concat(out).sort("slot", "generation")
        periods = periods.with_columns(
            (pl.int_range(pl.len()) + first_person).alias("person"),
            pl.col("leave").replace(-1, None),
        )
        return periods.with_columns(pl.col("person").alias("period_person"))

    def _rehire(self, periods: pl.DataFrame, rng) -> pl.DataFrame:
        """About 4% of new hires are former employees coming back: same person, new period."""
        leavers = periods.filter(
            pl.col("leave").is_not_null() & (pl.col("reason") == "") & (pl.col("generation") >= 0)
        ).select("person", "leave", "birth")
        candidates = periods.filter(pl.col("generation") >= 1)
        pick = candidates.sample(fraction=0.04, seed=int(rng.integers(1 << 31)))
        if pick.height == 0 or leavers.height == 0:
            return periods
        donors = leavers.sample(
            n=min(leavers.height, pick.height * 3), seed=int(rng.integers(1 << 31)), shuffle=True
        )
        used: set[int] = set()
        remap: dict[int, tuple[int, int]] = {}
        donor_rows = donors.rows()
        position = 0
        for person, hire in pick.select("person", "hire").iter_rows():
            while position < len(donor_rows):
                donor, leave, birth = donor_rows[position]
                position += 1
                if donor in used or donor == person or leave + 90 > hire:
                    continue
                if hire - birth > 60 * YEAR:
                    continue
                used.add(donor)
                remap[person] = (donor, birth)
                break
        if not remap:
            return periods
        mapping = pl.DataFrame(
            {
                "person": list(remap),
                "new_person": [v[0] for v in remap.values()],
                "new_birth": [v[1] for v in remap.values()],
            },
            schema={"person": pl.Int64, "new_person": pl.Int64, "new_birth": pl.Int64},
        )
        joined = periods.join(mapping, on="person", how="left", maintain_order="left")
        return joined.with_columns(
            pl.coalesce("new_person", "person").alias("person"),
            pl.coalesce("new_birth", "birth").alias("birth"),
        ).drop("new_person", "new_birth")

    # ---- contracts --------------------------------------------------------------------------
    def _contracts(self, periods: pl.DataFrame, slots: Slots, rng):
        rows = []
        moves = []
        change_rate = 0.22 / YEAR
        for slot, period_person, person, hire, leave, ctype, generation in periods.select(
            "slot", "period_person", "person", "hire", "leave", "contract_type", "generation"
        ).iter_rows():
            end = leave if leave is not None else self.end
            team = int(slots.team[slot])
            family = slots.family[slot]
            rank = int(slots.rank[slot])
            manages = int(slots.manager_of[slot])
            cao = float(self.unit_cao[team])
            if manages >= 0 or ctype == "permanent" and rng.random() < 0.5:
                factor = 1.0 if manages >= 0 or rng.random() < 0.8 else 0.8
            else:
                factor = float(rng.choice([1.0, 0.8, 0.6, 0.4], p=[0.34, 0.3, 0.26, 0.1]))
            hours = round(cao * factor) if ctype != "on_call" else float(rng.integers(8, 17))
            concurrent = manages < 0 and rng.random() < 0.01
            events = []
            span = end - hire
            # A fixed-term contract that outlives its first year is converted (Dutch chain rule).
            if ctype == "fixed_term" and hire + 365 <= end:
                events.append((hire + 365, "convert"))
            if span > 150:
                count = min(rng.poisson(change_rate * span), 6)
                for day in (
                    np.sort(rng.integers(hire + 90, end - 30, count))
                    if count and end - 30 > hire + 90
                    else []
                ):
                    kind = (
                        "hours"
                        if manages >= 0
                        else rng.choice(["hours", "job", "transfer"], p=[0.35, 0.3, 0.35])
                    )
                    events.append((int(day), str(kind)))
            events.sort()
            segment_start = hire
            current = {"team": team, "rank": rank, "hours": hours, "type": ctype}
            segments = []
            for day, kind in events:
                if day <= segment_start:
                    continue
                before = dict(current)
                if kind == "convert":
                    current["type"] = "permanent"
                elif kind == "hours":
                    options = [
                        h
                        for h in (round(cao), round(cao * 0.8), round(cao * 0.6), round(cao * 0.5))
                        if h != current["hours"]
                    ]
                    current["hours"] = float(rng.choice(options))
                elif kind == "job":
                    current["rank"] = min(current["rank"] + 1, self.family_ranks[family])
                    if current["rank"] == rank and self.family_ranks[family] > 1:
                        current["rank"] = max(1, rank - 1)
                elif kind == "transfer":
                    pool = self.teams_by_division.get(self.unit_division[team], self.org.teams)
                    target = int(rng.choice(pool))
                    if target != current["team"]:
                        moves.append(
                            (
                                person,
                                period_person,
                                target,
                                family,
                                current["rank"],
                                day,
                                current["hours"] / cao,
                            )
                        )
                        current["team"] = target
                if current == before:
                    # Nothing changed (a transfer within the same team, a promotion at the top
                    # rank): an HR system records no new contract, and the pay stays.
                    continue
                segments.append((segment_start, day - 1, before, day))
                segment_start = day
            segments.append((segment_start, leave, dict(current), None))
            if ctype == "intern":
                segments[-1] = (
                    segments[-1][0],
                    leave if leave is not None else hire + 181,
                    segments[-1][2],
                    None,
                )
            for seg_from, seg_to, attrs, _ in segments:
                rows.append(
                    (
                        person,
                        period_person,
                        generation,
                        seg_from,
                        seg_to,
                        attrs["team"],
                        family,
                        attrs["rank"],
                        attrs["type"],
                        float(attrs["hours"]),
                        cao,
                        concurrent,
                        manages,
                        False,
                    )
                )
            if concurrent:
                extra_team = int(rng.choice(self.org.teams))
                extra_from = hire + int(rng.integers(0, max(1, span // 2)))
                extra_to = min(end, extra_from + int(rng.integers(60, 720)))
                rows.append(
                    (
                        person,
                        period_person,
                        generation,
                        extra_from,
                        extra_to if extra_to < self.end or leave is not None else None,
                        extra_team,
                        family,
                        1,
                        "on_call",
                        8.0,
                        cao,
                        True,
                        -1,
                        True,
                    )
                )
        contracts = pl.DataFrame(
            rows,
            orient="row",
            schema={
                "person": pl.Int64,
                "period_person": pl.Int64,
                "generation": pl.Int64,
                "valid_from": pl.Int64,
                "valid_to": pl.Int64,
                "team": pl.Int64,
                "family": pl.String,
                "rank": pl.Int64,
                "contract_type": pl.String,
                "hours_per_week": pl.Float64,
                "fulltime_hours": pl.Float64,
                "is_concurrent": pl.Boolean,
                "manages": pl.Int64,
                "is_extra": pl.Boolean,
            },
        )
        contracts = self._contract_details(self._follow_manager_changes(contracts, rng), rng)
        move_frame = pl.DataFrame(
            moves,
            orient="row",
            schema={
                "person": pl.Int64,
                "period_person": pl.Int64,
                "team": pl.Int64,
                "family": pl.String,
                "rank": pl.Int64,
                "day": pl.Int64,
                "fte": pl.Float64,
            },
        )
        return contracts, move_frame

    def _reporting_unit(self, contracts: pl.DataFrame) -> np.ndarray:
        """The unit whose manager a contract reports to: a manager reports to the manager of
        the unit above the one they lead (-1 for the top manager)."""
        manages = contracts["manages"].to_numpy()
        team = contracts["team"].to_numpy()
        return np.where(manages >= 0, self.unit_parent[np.maximum(manages, 0)], team)

    # Of the contracts running when their unit gets a new manager: updated on the day, some weeks
    # late, never (the rest of the contract keeps the name of the manager who left).
    MANAGER_UPDATE_ON_TIME, MANAGER_UPDATE_NEVER = 0.85, 0.03

    def _follow_manager_changes(self, contracts: pl.DataFrame, rng) -> pl.DataFrame:
        """A new contract row for a report from the day their unit's new manager starts, as HR
        systems record a change of manager: mostly that day, some weeks late, a few never. The
        days between one manager leaving and the next starting keep the old name (there is no
        one to name yet); the warehouse reports those days (fct_workforce_findings). Pay is set
        once per contract, so a change of manager leaves it as it was."""
        contracts = contracts.with_columns(
            pl.Series("pay_draw", rng.uniform(0.92, 1.12, contracts.height)),
            pl.col("valid_from").alias("pay_from"),
        )
        if self.managers is None:
            return contracts
        rows = contracts.with_row_index("row").with_columns(
            pl.Series("unit", self._reporting_unit(contracts)),
            pl.col("valid_to").fill_null(self.end).alias("until"),
        )
        arrivals = self.managers.periods.select("unit", pl.col("hire").alias("arrival"))
        hits = (
            # A second, concurrent assignment is written with its end known from its start
            # (deliveries.py): split, a snapshot would show an end not yet decided.
            rows.filter((pl.col("unit") >= 0) & ~pl.col("is_extra"))
            .select("row", "unit", "valid_from", "until")
            .join(arrivals, on="unit")
            .filter(
                (pl.col("arrival") > pl.col("valid_from")) & (pl.col("arrival") <= pl.col("until"))
            )
            .sort("row", "arrival")
        )
        roll = rng.random(hits.height)
        late = rng.integers(15, 91, hits.height)
        hits = hits.with_columns(
            (pl.col("arrival") + np.where(roll < self.MANAGER_UPDATE_ON_TIME, 0, late)).alias(
                "day"
            ),
            pl.Series("never", roll >= 1 - self.MANAGER_UPDATE_NEVER),
        ).filter(~pl.col("never") & (pl.col("day") <= pl.col("until")))
        splits = hits.group_by("row").agg(pl.col("day").unique().sort().alias("days"))
        starts = (
            rows.join(splits, on="row", how="left")
            .with_columns(
                pl.concat_list(
                    pl.col("valid_from"), pl.col("days").fill_null(pl.lit([], pl.List(pl.Int64)))
                ).alias("start")
            )
            .explode("start")
        )
        next_start = pl.col("start").shift(-1).over("row")
        return (
            starts.sort("row", "start")
            .with_columns(
                pl.when(next_start.is_not_null())
                .then(next_start - 1)
                .otherwise(pl.col("valid_to"))
                .alias("valid_to"),
                pl.col("start").alias("valid_from"),
            )
            .select(contracts.columns)
        )

    def _contract_details(self, contracts: pl.DataFrame, rng) -> pl.DataFrame:
        n = contracts.height
        level = np.array(
            [
                self.job_levels[(f, r)]
                for f, r in zip(contracts["family"], contracts["rank"], strict=True)
            ]
        )
        job = [
            self.job_codes[(f, r)]
            for f, r in zip(contracts["family"], contracts["rank"], strict=True)
        ]
        full_salary = (1900 + 420 * level) * contracts["pay_draw"].to_numpy()
        years_in = (contracts["pay_from"].to_numpy() - self.start) / YEAR
        full_salary *= 1.03 ** np.clip(years_in, -10, 30)
        part = contracts["hours_per_week"].to_numpy() / contracts["fulltime_hours"].to_numpy()
        team = contracts["team"].to_numpy()
        managed_unit = self._reporting_unit(contracts)
        manager = pl.Series([None] * n, dtype=pl.Int64)
        if self.managers is not None:
            manager = self.managers.lookup(
                np.maximum(managed_unit, 0), contracts["valid_from"].to_numpy()
            )["manager"]
            manager = manager.to_frame().with_columns(
                pl.when(pl.Series(managed_unit) >= 0).then(pl.col("manager"))
            )["manager"]
        late = rng.random(n) < 0.08
        entered = contracts["valid_from"].to_numpy() + np.where(late, rng.integers(15, 61, n), 0)
        return (
            contracts.with_columns(
                pl.Series("job_code", job),
                pl.Series("org_unit_id", self.unit_ids[team]),
                pl.Series("cost_center", self.unit_cost_center[team]),
                pl.Series("monthly_salary", np.round(full_salary * part, 2)),
                manager.alias("manager_person"),
                pl.Series("entered", entered),
            )
            .with_columns(
                pl.when(pl.col("manager_person") == pl.col("person"))
                .then(None)
                .otherwise(pl.col("manager_person"))
                .alias("manager_person"),
                pl.when(pl.col("is_concurrent")).then(True).otherwise(None).alias("is_concurrent"),
            )
            .drop("pay_draw", "pay_from")
        )

    # ---- exits ------------------------------------------------------------------------------
    def _terminations(self, periods: pl.DataFrame, rng) -> pl.DataFrame:
        leavers = periods.filter(pl.col("leave").is_not_null())
        k = leavers.height
        low_climate = leavers["climate"].to_numpy() < -0.5
        base = leavers["reason"].to_numpy().astype(object)
        roll = rng.random(k)
        voluntary = rng.choice(VOLUNTARY_REASONS, k, p=VOLUNTARY_WEIGHTS)
        voluntary = np.where(low_climate & (rng.random(k) < 0.3), "manager", voluntary)
        employer = rng.choice(
            ["dismissal_performance", "dismissal_reorganisation"], k, p=[0.55, 0.45]
        )
        other = rng.choice(["other", "death", "disability"], k, p=[0.7, 0.1, 0.2])
        reason = np.where(
            base != "",
            base,
            np.where(
                roll < 0.68,
                voluntary,
                np.where(roll < 0.86, employer, np.where(roll < 0.95, "mutual_agreement", other)),
            ),
        )
        initiative = np.select(
            [
                np.isin(reason, VOLUNTARY_REASONS) | (reason == "retirement"),
                np.isin(
                    reason,
                    ["dismissal_performance", "dismissal_reorganisation", "end_of_fixed_term"],
                ),
                reason == "mutual_agreement",
            ],
            ["employee", "employer", "mutual"],
            "other",
        )
        regretted = np.where(
            initiative == "employee",
            rng.random(k) < np.where(reason == "retirement", 0.1, 0.38),
            False,
        )
        leave = leavers["leave"].to_numpy()
        late = rng.random(k) < 0.15
        entered = np.where(late, leave + rng.integers(5, 46, k), leave - rng.integers(0, 40, k))
        return pl.DataFrame(
            {
                "person": leavers["person"],
                "period_person": leavers["period_person"],
                "termination_date": leave,
                "reason_code": reason.astype(str),
                "initiative": initiative.astype(str),
                "is_regretted": regretted,
                "entered": entered,
            }
        )

    # ---- people -----------------------------------------------------------------------------
    def _persons(self, periods: pl.DataFrame, rng) -> pl.DataFrame:
        people = periods.group_by("person", maintain_order=True).agg(
            pl.col("birth").first(), pl.col("hire").min().alias("original_hire")
        )
        people = people.sort("person")
        n = people.height
        gender = rng.choice(["F", "M", "X", "U"], n, p=[0.5, 0.48, 0.01, 0.01])
        return people.with_columns(
            pl.Series("gender", gender),
            pl.Series("full_name", full_names(rng, n)),
            pl.Series("bsn", bsns(rng, n)),
        )

    # ---- sick leave -------------------------------------------------------------------------
    def _absences(self, periods: pl.DataFrame, persons: pl.DataFrame, rng):
        # Spells of people still employed may run past the horizon: they are delivered open.
        frame = periods.join(
            persons.select("person", "gender"), on="person", maintain_order="left"
        ).with_columns(pl.col("leave").fill_null(self.end + 800).alias("until"))
        hire = frame["hire"].to_numpy()
        until = frame["until"].to_numpy()
        first_day = np.maximum(hire, self.start - 800)
        span = np.maximum(np.minimum(until, self.end) - first_day, 0)
        rate = 0.82 * np.exp(-0.15 * frame["climate"].to_numpy())
        counts = rng.poisson(rate * span / YEAR)
        idx = np.repeat(np.arange(frame.height), counts)
        m = len(idx)
        start = first_day[idx] + (rng.random(m) * span[idx]).astype(np.int64)
        kind = rng.choice(4, m, p=[0.79, 0.16, 0.045, 0.005])
        duration = np.select(
            [kind == 0, kind == 1, kind == 2],
            [rng.integers(1, 15, m), rng.integers(15, 92, m), rng.integers(92, 366, m)],
            rng.integers(366, 731, m),
        )
        spells = pl.DataFrame(
            {"row": idx, "start": start, "duration": duration, "type": np.full(m, "sick")}
        )
        women = frame.with_row_index("row").filter(
            (pl.col("gender") == "F") & ((pl.col("hire") - pl.col("birth")) / YEAR < 38)
        )
        wk = women.height
        pregnant = women.filter(
            pl.Series(
                rng.random(wk)
                < 0.18 * np.minimum((women["until"] - women["hire"]).to_numpy() / YEAR, 4) / 2
            )
        )
        if pregnant.height:
            p_start = pregnant["hire"].to_numpy() + (
                rng.random(pregnant.height)
                * np.maximum((pregnant["until"] - pregnant["hire"]).to_numpy() - 112, 1)
            ).astype(np.int64)
            spells = pl.concat(
                [
                    spells,
                    pl.DataFrame(
                        {
                            "row": pregnant["row"].cast(pl.Int64),
                            "start": p_start,
                            "duration": np.full(pregnant.height, 112),
                            "type": np.full(pregnant.height, "pregnancy_leave"),
                        }
                    ),
                ]
            )
        spells = spells.with_columns(pl.col("row").cast(pl.Int64)).sort("row", "start")
        for _ in range(8):  # spells of one person may not overlap: drop the later one
            spells = spells.with_columns((pl.col("start") + pl.col("duration") - 1).alias("end"))
            overlap = (pl.col("row") == pl.col("row").shift(1)) & (
                pl.col("start") <= pl.col("end").shift(1)
            )
            if not spells.select(overlap.any()).item():
                break
            spells = spells.filter(~overlap.fill_null(False))
        spells = spells.with_columns((pl.col("start") + pl.col("duration") - 1).alias("end"))
        spells = spells.join(
            frame.with_row_index("row").select(pl.col("row").cast(pl.Int64), "person", "until"),
            on="row",
            maintain_order="left",
        )
        spells = spells.with_columns(pl.min_horizontal("end", "until").alias("end")).filter(
            pl.col("start") <= pl.col("until")
        )
        spells = spells.with_columns(
            pl.format("V{}-{}", pl.col("person"), pl.int_range(pl.len()).over("person")).alias(
                "absence_id"
            )
        )
        n = spells.height
        split = (
            (spells["end"] - spells["start"] >= 28).to_numpy()
            & (rng.random(n) < 0.45)
            & (spells["type"] == "sick").to_numpy()
        )
        cut = spells["start"].to_numpy() + (
            (spells["end"] - spells["start"]).to_numpy() * rng.uniform(0.4, 0.8, n)
        ).astype(np.int64)
        first = spells.with_columns(
            pl.when(pl.Series(split))
            .then(pl.Series(cut))
            .otherwise(pl.col("end"))
            .alias("seg_end"),
            pl.lit(100.0).alias("incapacity_pct"),
        )
        second = spells.filter(pl.Series(split)).with_columns(
            (pl.Series(cut[split]) + 1).alias("start"),
            pl.col("end").alias("seg_end"),
            pl.Series(rng.choice([50.0, 40.0, 60.0, 80.0], int(split.sum()))).alias(
                "incapacity_pct"
            ),
        )
        segments = pl.concat(
            [
                first.with_columns(pl.col("start").alias("spell_start")),
                second.with_columns(
                    pl.Series(spells.filter(pl.Series(split))["start"]).alias("spell_start")
                ),
            ],
            how="diagonal",
        )
        segments = segments.select(
            "absence_id",
            "person",
            pl.col("start").alias("start_date"),
            pl.col("seg_end").alias("end_date"),
            "incapacity_pct",
            pl.col("type").alias("absence_type"),
            "spell_start",
            pl.col("end").alias("spell_end"),
        )
        milestones = self._milestones(spells.filter(pl.col("type") == "sick"), rng)
        return segments, milestones

    def _milestones(self, spells: pl.DataFrame, rng) -> pl.DataFrame:
        parts = []
        length = (spells["end"] - spells["start"] + 1).to_numpy()
        for milestone, deadline in MILESTONE_DAYS.items():
            due = spells.filter(pl.Series(length >= deadline - 7))
            k = due.height
            if k == 0:
                continue
            roll = rng.random(k)
            on_time = due["start"].to_numpy() + deadline - 1 - rng.integers(0, 14, k)
            late = due["start"].to_numpy() + deadline - 1 + rng.integers(1, 35, k)
            done = np.where(roll < 0.84, on_time, late)
            kept = roll < 0.95
            parts.append(
                pl.DataFrame(
                    {
                        "absence_id": due["absence_id"].filter(pl.Series(kept)),
                        "milestone": [milestone] * int(kept.sum()),
                        "completed_date": done[kept],
                    }
                )
            )
        if not parts:
            return pl.DataFrame(
                schema={"absence_id": pl.String, "milestone": pl.String, "completed_date": pl.Int64}
            )
        return pl.concat(parts)

    # ---- vacancies --------------------------------------------------------------------------
    def _vacancies(self, periods: pl.DataFrame, moves: pl.DataFrame, slots: Slots, rng):
        external = periods.filter(
            (pl.col("generation") >= 1) | ~pl.Series(slots.initial[periods["slot"].to_numpy()])
        )
        team = slots.team[external["slot"].to_numpy()]
        family = slots.family[external["slot"].to_numpy()]
        rank = slots.rank[external["slot"].to_numpy()]
        fills = pl.DataFrame(
            {
                "org_unit_id": self.unit_ids[team],
                "job_code": [
                    self.job_codes[(f, int(r))] for f, r in zip(family, rank, strict=True)
                ],
                "fte": np.ones(len(team)),
                "opened": external["vacancy_open"],
                "filled": external["hire"],
                "hired_person": external["person"].cast(pl.Int64),
                "is_internal_hire": np.zeros(len(team), dtype=bool),
            }
        )
        internal = pl.DataFrame(
            {
                "org_unit_id": self.unit_ids[moves["team"].to_numpy().astype(int)],
                "job_code": [
                    self.job_codes[(f, int(r))]
                    for f, r in zip(moves["family"], moves["rank"], strict=True)
                ],
                "fte": moves["fte"].round(2),
                "opened": moves["day"] - rng.integers(20, 90, moves.height),
                "filled": moves["day"],
                "hired_person": moves["person"],
                "is_internal_hire": np.ones(moves.height, dtype=bool),
            }
        )
        vacancies = pl.concat([fills, internal])
        k = max(1, vacancies.height // 25)
        cancelled = vacancies.sample(
            n=min(k, vacancies.height), seed=int(rng.integers(1 << 31))
        ).with_columns(
            (pl.col("opened") - 30).alias("opened"),
            pl.lit(None, pl.Int64).alias("filled"),
            pl.lit(None, pl.Int64).alias("hired_person"),
            pl.lit(None, pl.Boolean).alias("is_internal_hire"),
        )
        cancelled = cancelled.with_columns((pl.col("opened") + 45).alias("cancelled"))
        vacancies = pl.concat(
            [vacancies.with_columns(pl.lit(None, pl.Int64).alias("cancelled")), cancelled]
        )
        return vacancies.filter(pl.col("opened") >= self.start - 120)
