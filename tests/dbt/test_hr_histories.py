"""Random HR histories against a reference model: hypothesis writes 1,000 histories of hires,
transfers, part-time changes, exits, re-hires and backdated corrections, delivered as successive
monthly HR snapshots; the pipeline's published headcount, FTE, hires and leavers per month must
equal what a few lines of plain Python compute from the same history.

Each history lives in its own org unit (two teams under it), so one pipeline run answers all of
them: per history, the org_level_2 split of the KPI tables."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.pipeline import built_home

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("histories")]

HISTORIES = 1000
FIRST_MONTH = dt.date(2024, 1, 1)
MONTHS = 8  # January to August 2024, one snapshot after each
FULLTIME_HOURS = 36
HOURS = (16, 18, 24, 32, 36)


def month_start(index: int) -> dt.date:
    return dt.date(FIRST_MONTH.year + (FIRST_MONTH.month - 1 + index) // 12,
                   (FIRST_MONTH.month - 1 + index) % 12 + 1, 1)  # fmt: skip


def month_end(index: int) -> dt.date:
    return month_start(index + 1) - dt.timedelta(days=1)


@dataclass
class Contract:
    employee: str
    valid_from: dt.date
    valid_to: dt.date | None
    team: str
    hours: int


@dataclass
class History:
    """One organisation unit's people as the HR system knows them, and the snapshots sent."""

    unit: str
    contracts: list[Contract] = field(default_factory=list)
    terminations: dict[str, list[tuple[dt.date, str]]] = field(default_factory=dict)
    first_hire: dict[str, dt.date] = field(default_factory=dict)
    snapshots: list[tuple[list[Contract], dict]] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)

    def open_contract(self, employee: str) -> Contract | None:
        return next(
            (c for c in self.contracts if c.employee == employee and c.valid_to is None), None
        )


COLLECTED: list[History] = []


class HrHistory(RuleBasedStateMachine):
    """What an HR department does to one unit's people over eight months."""

    @initialize()
    def open_unit(self):
        self.history = History(unit=f"H{len(COLLECTED):04d}")
        self.month = 0
        self.people = 0
        COLLECTED.append(self.history)

    def day(self, offset: int) -> dt.date:
        start, end = month_start(self.month), month_end(self.month)
        return min(start + dt.timedelta(days=offset), end)

    def active(self) -> list[str]:
        return sorted({c.employee for c in self.history.contracts if c.valid_to is None})

    def former(self) -> list[str]:
        return sorted(set(self.history.terminations) - set(self.active()))

    @rule(team=st.sampled_from("AB"), hours=st.sampled_from(HOURS), offset=st.integers(0, 30))
    def hire(self, team, hours, offset):
        employee = f"{self.history.unit}E{self.people:02d}"
        self.people += 1
        start = self.day(offset)
        self.history.contracts.append(Contract(employee, start, None, team, hours))
        self.history.first_hire[employee] = start
        self.history.steps.append(f"hire {employee} {team} {hours}h {start}")

    def _change(self, index: int, offset: int, **changes) -> None:
        people = self.active()
        employee = people[index % len(people)]
        current = self.history.open_contract(employee)
        when = self.day(offset)
        if when <= current.valid_from:
            return
        current.valid_to = when - dt.timedelta(days=1)
        self.history.contracts.append(
            Contract(
                employee,
                when,
                None,
                changes.get("team", current.team),
                changes.get("hours", current.hours),
            )
        )
        self.history.steps.append(f"change {employee} {changes} from {when}")

    @precondition(lambda self: self.active())
    @rule(index=st.integers(0, 50), offset=st.integers(1, 30))
    def transfer(self, index, offset):
        people = self.active()
        current = self.history.open_contract(people[index % len(people)])
        self._change(index, offset, team="B" if current.team == "A" else "A")

    @precondition(lambda self: self.active())
    @rule(index=st.integers(0, 50), offset=st.integers(1, 30), hours=st.sampled_from(HOURS))
    def part_time_change(self, index, offset, hours):
        self._change(index, offset, hours=hours)

    @precondition(lambda self: self.active())
    @rule(
        index=st.integers(0, 50),
        offset=st.integers(0, 30),
        initiative=st.sampled_from(["employee", "employer"]),
    )
    def exit(self, index, offset, initiative):
        people = self.active()
        employee = people[index % len(people)]
        current = self.history.open_contract(employee)
        when = max(self.day(offset), current.valid_from)
        current.valid_to = when
        self.history.terminations.setdefault(employee, []).append((when, initiative))
        self.history.steps.append(f"exit {employee} {when} {initiative}")

    @precondition(lambda self: self.former())
    @rule(index=st.integers(0, 50), team=st.sampled_from("AB"), offset=st.integers(0, 30))
    def rehire(self, index, team, offset):
        people = self.former()
        employee = people[index % len(people)]
        last_exit = self.history.terminations[employee][-1][0]
        when = self.day(offset)
        if when <= last_exit + dt.timedelta(days=1):
            return
        self.history.contracts.append(Contract(employee, when, None, team, 36))
        self.history.steps.append(f"rehire {employee} {team} {when}")

    @precondition(lambda self: self.month > 0 and self.history.contracts)
    @rule(index=st.integers(0, 200), hours=st.sampled_from(HOURS))
    def backdated_correction(self, index, hours):
        """Hours keyed wrongly on a contract already delivered: the next snapshot restates it."""
        delivered = [c for c in self.history.contracts if c.valid_from < month_start(self.month)]
        if delivered:
            contract = delivered[index % len(delivered)]
            contract.hours = hours
            self.history.steps.append(
                f"correct {contract.employee} from {contract.valid_from} to {hours}h"
            )

    @precondition(lambda self: self.month < MONTHS)
    @rule()
    def deliver_snapshot(self):
        self.history.snapshots.append(
            (
                [Contract(**vars(c)) for c in self.history.contracts],
                {e: list(t) for e, t in self.history.terminations.items()},
            )
        )
        self.history.steps.append(f"snapshot {month_end(self.month)}")
        self.month += 1


def part_time_factor(hours: int) -> float:
    """KPIS.md: hours over full-time hours, to 4 decimals."""
    exact = Decimal(hours) / Decimal(FULLTIME_HOURS)
    return float(exact.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def reference_model(history: History) -> dict[tuple[str, dt.date], float]:
    """Headcount and FTE on each month's last day, hires and leavers in each month: from the
    history as its newest snapshot tells it."""
    contracts, terminations = history.snapshots[-1]
    employment_starts, previous = [], {}
    for c in sorted(contracts, key=lambda c: c.valid_from):
        before = previous.get(c.employee)
        # A contract starting the day after the previous one ends continues the employment.
        if before is None or c.valid_from > before.valid_to + dt.timedelta(days=1):
            employment_starts.append(c.valid_from)
        previous[c.employee] = c
    exits = [when for dates in terminations.values() for when, _ in dates]
    expected = {}
    for index in range(MONTHS):
        start, end = month_start(index), month_end(index)
        on_last_day = [c for c in contracts if c.valid_from <= end and (c.valid_to or end) >= end]
        expected[("headcount", start)] = len({c.employee for c in on_last_day})
        expected[("fte", start)] = round(sum(part_time_factor(c.hours) for c in on_last_day), 4)
        expected[("hires", start)] = sum(start <= day <= end for day in employment_starts)
        expected[("leavers", start)] = sum(start <= day <= end for day in exits)
    return expected


def write_landing(landing: Path) -> Path:
    org_units = ["org_unit_id,name,parent_org_unit_id", "R,Root,"]
    for history in COLLECTED:
        org_units.append(f"{history.unit},Unit {history.unit},R")
        org_units += [f"{history.unit}{team},Team {team},{history.unit}" for team in "AB"]
    for index in range(MONTHS):
        snapshot_day = month_end(index)
        folder = landing / "hris" / (snapshot_day + dt.timedelta(days=1)).strftime("%Y%m%d")
        folder.mkdir(parents=True)
        employees = ["employee_id,birth_date,gender,original_hire_date"]
        contracts = [
            "contract_id,employee_id,valid_from,valid_to,org_unit_id,job_code,cost_center,"
            "contract_type,hours_per_week,fulltime_hours,monthly_salary,manager_employee_id,"
            "is_concurrent"
        ]
        terminations = ["employee_id,termination_date,reason_code,initiative,is_regretted"]
        for history in COLLECTED:
            # A history that stopped early is sent again as it stood: the HR system still
            # holds those people, and the newest snapshot is the truth.
            known, exits = history.snapshots[min(index, len(history.snapshots) - 1)]
            for employee in sorted({c.employee for c in known}):
                employees.append(f"{employee},1990-01-01,F,{history.first_hire[employee]}")
            for number, c in enumerate(known):
                contracts.append(
                    f"{c.employee}C{number},{c.employee},{c.valid_from},{c.valid_to or ''},"
                    f"{history.unit}{c.team},J1,K1,permanent,{c.hours},{FULLTIME_HOURS},3000,,"
                )
            for employee, dates in exits.items():
                for when, initiative in dates:
                    reason = "other_job" if initiative == "employee" else "reorganisation"
                    terminations.append(f"{employee},{when},{reason},{initiative},false")
        files = {
            "org_units": org_units,
            "jobs": ["job_code,job_title,job_family,job_level", "J1,Analyst,Finance,8"],
            "employees": employees,
            "contracts": contracts,
            "terminations": terminations,
            "vacancies": [
                "vacancy_id,org_unit_id,job_code,fte,opened_date,filled_date,cancelled_date,"
                "hired_employee_id,is_internal_hire",
                "V1,R,J1,1.0,2024-01-05,,,,",
            ],
        }
        for name, lines in files.items():
            (folder / f"{name}.csv").write_text("\n".join(lines) + "\n")
    return landing


@pytest.fixture(scope="module")
def histories_home(tmp_path_factory):
    COLLECTED.clear()
    run_state_machine_as_test(
        HrHistory,
        settings=settings(
            max_examples=int(HISTORIES * 1.3),
            stateful_step_count=40,
            database=None,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
    # Histories that never delivered a snapshot say nothing; hypothesis also replays some.
    kept = [h for h in COLLECTED if h.snapshots]
    assert len(kept) >= HISTORIES, len(kept)
    COLLECTED[:] = kept
    return built_home(tmp_path_factory, "histories", write_landing)


def test_a_thousand_random_histories_match_the_reference_model(histories_home):
    with duckdb.connect(str(histories_home / "serving.duckdb"), read_only=True) as con:
        rows = con.sql(
            "select metric, member, period_start, value from kpi.metrics_month "
            "where dimension = 'org_level_2' "
            "and metric in ('headcount', 'fte', 'hires', 'leavers')"
        ).fetchall()
    published = {(m, unit, start): value for m, unit, start, value in rows}
    mismatches = []
    for history in COLLECTED:
        for (metric, start), value in reference_model(history).items():
            got = published.get((metric, history.unit, start)) or 0
            if round(got, 4) != value:
                mismatches.append((history.unit, metric, start, got, value))
        if len(mismatches) > 20:
            break
    first = mismatches[0][0] if mismatches else None
    steps = next((h.steps for h in COLLECTED if h.unit == first), [])
    assert mismatches == [], "\n".join(map(str, mismatches[:20])) + "\n" + "\n".join(steps)
