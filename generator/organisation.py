"""The synthetic company's org tree (3-4 levels), jobs, cost centers and CAO full-time weeks."""

from dataclasses import dataclass

import numpy as np
import polars as pl

# family -> job titles by level; levels are salary scales 4..12.
JOB_FAMILIES: dict[str, list[tuple[str, int]]] = {
    "Operations": [
        ("Medewerker logistiek", 4),
        ("Operator", 5),
        ("Planner", 7),
        ("Teamleider operations", 8),
    ],
    "Sales": [("Accountmanager", 7), ("Senior accountmanager", 9), ("Binnendienst", 5)],
    "ICT": [
        ("Servicedesk medewerker", 6),
        ("Software engineer", 9),
        ("Data engineer", 10),
        ("Architect", 11),
    ],
    "Finance": [("Boekhouder", 7), ("Controller", 10), ("Financieel analist", 9)],
    "HR": [("HR adviseur", 9), ("Salarisadministrateur", 7), ("Recruiter", 8)],
    "Klantenservice": [("Klantenservice medewerker", 5), ("Senior klantenservice", 6)],
    "Management": [("Teammanager", 10), ("Afdelingsmanager", 11), ("Directeur", 12)],
}
WORK_FAMILIES = [f for f in JOB_FAMILIES if f != "Management"]
FAMILY_WEIGHTS = np.array([0.30, 0.14, 0.16, 0.08, 0.06, 0.26])
REVENUE_FAMILIES = {"Operations", "Sales", "Klantenservice"}
CAO_WEEKS = np.array([36.0, 38.0, 40.0])
DIVISIONS = [
    "Noord",
    "Zuid",
    "Oost",
    "West",
    "Midden",
    "Randstad",
    "Digitaal",
    "Services",
    "Logistiek",
    "Zakelijk",
    "Particulier",
    "Internationaal",
]
CITIES = [
    "Amsterdam",
    "Rotterdam",
    "Utrecht",
    "Den Haag",
    "Eindhoven",
    "Groningen",
    "Tilburg",
    "Almere",
    "Breda",
    "Nijmegen",
    "Arnhem",
    "Zwolle",
    "Leiden",
    "Maastricht",
    "Delft",
]
# The board's cost center, unknown to HR. A code no unit can get (the root is KP0001, divisions
# KP0101 and up, departments KP1001 and up): KP9990 was department 8,989's at 1,000,000 employees.
UNMAPPED_COST_CENTER = "KP0000"


@dataclass
class Organisation:
    units: pl.DataFrame  # org_unit_id, name, parent_org_unit_id, level, division, department,
    #                      family, cao_hours, cost_center
    jobs: pl.DataFrame
    cost_centers: pl.DataFrame  # cost_center, name, org_unit_id, valid_from, valid_to
    teams: np.ndarray  # row indexes of leaf units in `units`

    def job_code(self, family: str, rank: int) -> str:
        return f"{family[:3].upper()}{rank:02d}"


def build_organisation(
    employees: int, start: np.datetime64, end: np.datetime64, rng: np.random.Generator
) -> Organisation:
    n_teams = max(6, round(employees / 14))
    n_divisions = int(np.clip(round(np.sqrt(employees) / 8), 2, len(DIVISIONS)))
    n_departments = max(n_divisions, round(n_teams / 5))
    width = max(4, len(str(1 + n_divisions + n_departments + n_teams)))

    def unit_id(index: int) -> str:
        return f"ORG{index:0{width}d}"

    rows = [(unit_id(1), "Peoplemart Groep B.V.", None, 1, -1, -1, "Management", 38.0)]
    cao = rng.choice(CAO_WEEKS, size=n_divisions)
    for d in range(n_divisions):
        rows.append(
            (
                unit_id(len(rows) + 1),
                f"Divisie {DIVISIONS[d]}",
                rows[0][0],
                2,
                d,
                -1,
                "Management",
                float(cao[d]),
            )
        )
    division_ids = [r[0] for r in rows[1:]]
    department_division = np.sort(rng.integers(0, n_divisions, n_departments))
    department_division[:n_divisions] = np.arange(n_divisions)
    department_family = rng.choice(WORK_FAMILIES, size=n_departments, p=FAMILY_WEIGHTS)
    department_ids = []
    for k in range(n_departments):
        d = int(department_division[k])
        uid = unit_id(len(rows) + 1)
        department_ids.append(uid)
        rows.append(
            (
                uid,
                f"Afdeling {department_family[k]} {DIVISIONS[d]} {k + 1}",
                division_ids[d],
                3,
                d,
                k,
                str(department_family[k]),
                float(cao[d]),
            )
        )
    team_department = rng.integers(0, n_departments, n_teams)
    team_department[:n_departments] = np.arange(n_departments)
    team_department.sort()
    for t in range(n_teams):
        k = int(team_department[t])
        d = int(department_division[k])
        family = (
            department_family[k]
            if rng.random() < 0.8
            else rng.choice(WORK_FAMILIES, p=FAMILY_WEIGHTS)
        )
        rows.append(
            (
                unit_id(len(rows) + 1),
                f"Team {family} {CITIES[t % len(CITIES)]} {t + 1}",
                department_ids[k],
                4,
                d,
                k,
                str(family),
                float(cao[d]),
            )
        )
    units = pl.DataFrame(
        rows,
        schema=[
            "org_unit_id",
            "name",
            "parent_org_unit_id",
            "level",
            "division",
            "department",
            "family",
            "cao_hours",
        ],
        orient="row",
    )
    units = units.with_columns(
        pl.when(pl.col("department") >= 0)
        .then(pl.format("KP{}", (pl.col("department") + 1001).cast(pl.String)))
        .when(pl.col("division") >= 0)
        .then(pl.format("KP{}", (pl.col("division") + 101).cast(pl.String).str.zfill(4)))
        .otherwise(pl.lit("KP0001"))
        .alias("cost_center")
    )
    jobs = pl.DataFrame(
        [
            (f"{fam[:3].upper()}{i + 1:02d}", title, fam, level)
            for fam, titles in JOB_FAMILIES.items()
            for i, (title, level) in enumerate(titles)
        ],
        schema=["job_code", "job_title", "job_family", "job_level"],
        orient="row",
    )
    centers = units.filter(pl.col("level") <= 3).select(
        "cost_center",
        pl.format("Kostenplaats {}", pl.col("name")).alias("name"),
        "org_unit_id",
        pl.lit(None, pl.Date).alias("valid_from"),
        pl.lit(None, pl.Date).alias("valid_to"),
    )
    # A reorganisation halfway: the first department's cost center moves to the second one.
    reorg = start + (end - start) // 2
    moved = centers.filter(pl.col("org_unit_id") == department_ids[0])
    if len(department_ids) > 1:
        before = moved.with_columns(pl.lit(reorg - 1).cast(pl.Date).alias("valid_to"))
        after = moved.with_columns(
            pl.lit(department_ids[1]).alias("org_unit_id"),
            pl.lit(reorg).cast(pl.Date).alias("valid_from"),
        )
        centers = pl.concat(
            [centers.filter(pl.col("org_unit_id") != department_ids[0]), before, after]
        )
    unmapped = pl.DataFrame(
        {
            "cost_center": [UNMAPPED_COST_CENTER],
            "name": ["Raad van bestuur en holding"],
            "org_unit_id": [None],
            "valid_from": [None],
            "valid_to": [None],
        },
        schema=centers.schema,
    )
    centers = pl.concat([centers, unmapped]).sort("cost_center", "valid_from", nulls_last=False)
    teams = np.flatnonzero(units["level"].to_numpy() == 4)
    return Organisation(units, jobs, centers, teams)
