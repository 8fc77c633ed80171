"""Contracts for the HR system (HRIS) extracts."""

import pandera.polars as pa
import polars as pl

CONTRACT_TYPES = ["permanent", "fixed_term", "on_call", "intern", "external"]
INITIATIVES = ["employee", "employer", "mutual", "other"]
MILESTONES = [
    "problem_analysis",
    "action_plan",
    "uwv_notification",
    "first_year_evaluation",
    "wia_application",
]
ABSENCE_TYPES = ["sick", "pregnancy_leave"]
MONEY = {"sql_type": "DECIMAL(18,2)"}


def _meta(*aliases: str, optional: bool = False, identifier: bool = False, **extra) -> dict:
    return {"aliases": list(aliases), "optional": optional, "identifier": identifier, **extra}


class EmployeeExtract(pa.DataFrameModel):
    employee_id: str = pa.Field(unique=True, metadata=_meta("personeelsnummer", identifier=True))
    birth_date: pl.Date = pa.Field(metadata=_meta("geboortedatum", restricted=True))
    gender: str = pa.Field(isin=["M", "F", "X", "U"], metadata=_meta("geslacht"))
    original_hire_date: pl.Date = pa.Field(metadata=_meta("datum_in_dienst"))


class ContractExtract(pa.DataFrameModel):
    contract_id: str = pa.Field(unique=True, metadata=_meta("contractnummer"))
    employee_id: str = pa.Field(metadata=_meta("personeelsnummer", identifier=True))
    valid_from: pl.Date = pa.Field(metadata=_meta("ingangsdatum"))
    valid_to: pl.Date = pa.Field(nullable=True, metadata=_meta("einddatum", optional=True))
    org_unit_id: str = pa.Field(metadata=_meta("afdeling"))
    job_code: str = pa.Field(metadata=_meta("functie"))
    cost_center: str = pa.Field(metadata=_meta("kostenplaats"))
    contract_type: str = pa.Field(isin=CONTRACT_TYPES, metadata=_meta("soort_contract"))
    hours_per_week: float = pa.Field(gt=0, le=60, metadata=_meta("uren_per_week"))
    fulltime_hours: float = pa.Field(gt=0, le=60, metadata=_meta("fulltime_uren"))
    monthly_salary: float = pa.Field(
        ge=0, nullable=True, metadata=_meta("bruto_maandsalaris", optional=True, **MONEY)
    )
    manager_employee_id: str = pa.Field(
        nullable=True, metadata=_meta("leidinggevende", optional=True, identifier=True)
    )
    is_concurrent: bool = pa.Field(
        nullable=True, metadata=_meta("nevenfunctie", "concurrent", optional=True)
    )

    @pa.dataframe_check(name="valid_to is on or after valid_from")
    def valid_to_not_before_valid_from(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("valid_to") >= pl.col("valid_from"))


class TerminationExtract(pa.DataFrameModel):
    employee_id: str = pa.Field(metadata=_meta("personeelsnummer", identifier=True))
    termination_date: pl.Date = pa.Field(metadata=_meta("datum_uit_dienst"))
    reason_code: str = pa.Field(metadata=_meta("reden_uit_dienst"))
    initiative: str = pa.Field(isin=INITIATIVES, metadata=_meta("initiatief"))
    is_regretted: bool = pa.Field(nullable=True, metadata=_meta("ongewenst", optional=True))


class OrgUnitExtract(pa.DataFrameModel):
    """Effective-dated: one org unit may have several rows, one per validity interval."""

    org_unit_id: str = pa.Field(metadata=_meta("afdeling", "afdelingscode"))
    name: str = pa.Field(metadata=_meta("afdelingsnaam", "omschrijving"))
    parent_org_unit_id: str = pa.Field(
        nullable=True, metadata=_meta("bovenliggende_afdeling", optional=True)
    )
    manager_employee_id: str = pa.Field(
        nullable=True, metadata=_meta("leidinggevende", optional=True, identifier=True)
    )
    valid_from: pl.Date = pa.Field(nullable=True, metadata=_meta("ingangsdatum", optional=True))
    valid_to: pl.Date = pa.Field(nullable=True, metadata=_meta("einddatum", optional=True))

    class Config:
        unique = ["org_unit_id", "valid_from"]


class JobExtract(pa.DataFrameModel):
    job_code: str = pa.Field(unique=True, metadata=_meta("functie", "functiecode"))
    job_title: str = pa.Field(metadata=_meta("functienaam"))
    job_family: str = pa.Field(metadata=_meta("functiefamilie", "functiegroep"))
    job_level: int = pa.Field(ge=0, le=30, nullable=True, metadata=_meta("functieniveau", "schaal"))


class AbsenceExtract(pa.DataFrameModel):
    absence_id: str = pa.Field(metadata=_meta("verzuimnummer", "verzuimmelding"))
    employee_id: str = pa.Field(metadata=_meta("personeelsnummer", identifier=True))
    start_date: pl.Date = pa.Field(metadata=_meta("eerste_ziektedag"))
    end_date: pl.Date = pa.Field(nullable=True, metadata=_meta("hersteldatum", optional=True))
    incapacity_pct: float = pa.Field(
        ge=1,
        le=100,
        nullable=True,
        metadata=_meta("percentage_arbeidsongeschikt", optional=True),
    )
    absence_type: str = pa.Field(isin=ABSENCE_TYPES, metadata=_meta("soort_verzuim"))

    @pa.dataframe_check(name="end_date is on or after start_date")
    def end_not_before_start(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("end_date") >= pl.col("start_date"))


class AbsenceMilestoneExtract(pa.DataFrameModel):
    absence_id: str = pa.Field(metadata=_meta("verzuimnummer", "verzuimmelding"))
    milestone: str = pa.Field(isin=MILESTONES, metadata=_meta("mijlpaal"))
    completed_date: pl.Date = pa.Field(nullable=True, metadata=_meta("datum_gereed", optional=True))


class VacancyExtract(pa.DataFrameModel):
    vacancy_id: str = pa.Field(unique=True, metadata=_meta("vacaturenummer"))
    org_unit_id: str = pa.Field(metadata=_meta("afdeling"))
    job_code: str = pa.Field(metadata=_meta("functie"))
    fte: float = pa.Field(gt=0, le=10, metadata=_meta("formatieplaats_fte"))
    opened_date: pl.Date = pa.Field(metadata=_meta("datum_open"))
    filled_date: pl.Date = pa.Field(nullable=True, metadata=_meta("datum_vervuld", optional=True))
    cancelled_date: pl.Date = pa.Field(
        nullable=True, metadata=_meta("datum_ingetrokken", optional=True)
    )
    hired_employee_id: str = pa.Field(
        nullable=True, metadata=_meta("aangenomen_medewerker", optional=True, identifier=True)
    )
    is_internal_hire: bool = pa.Field(
        nullable=True, metadata=_meta("interne_invulling", optional=True)
    )

    @pa.dataframe_check(name="filled_date is on or after opened_date")
    def filled_not_before_opened(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("filled_date") >= pl.col("opened_date"))
