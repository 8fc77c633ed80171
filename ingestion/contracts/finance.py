"""Contracts for the finance system extracts."""

import pandera.polars as pa
import polars as pl

from ingestion.contracts.hris import MONEY, _meta

PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"


class CostCenterExtract(pa.DataFrameModel):
    """Effective-dated: a cost center may move to another org unit (one row per interval)."""

    cost_center: str = pa.Field(metadata=_meta("kostenplaats"))
    name: str = pa.Field(metadata=_meta("omschrijving", "naam"))
    org_unit_id: str = pa.Field(nullable=True, metadata=_meta("afdeling", optional=True))
    valid_from: pl.Date = pa.Field(nullable=True, metadata=_meta("ingangsdatum", optional=True))
    valid_to: pl.Date = pa.Field(nullable=True, metadata=_meta("einddatum", optional=True))

    class Config:
        unique = ["cost_center", "valid_from"]


class GlEntryExtract(pa.DataFrameModel):
    entry_id: str = pa.Field(unique=True, metadata=_meta("boekingsnummer"))
    booking_date: pl.Date = pa.Field(metadata=_meta("boekdatum"))
    period: str = pa.Field(str_matches=PERIOD, metadata=_meta("periode"))
    cost_center: str = pa.Field(metadata=_meta("kostenplaats"))
    account: str = pa.Field(metadata=_meta("grootboekrekening", "rekening"))
    account_class: str = pa.Field(
        isin=["revenue", "personnel_cost", "other_cost"], metadata=_meta("rekeningsoort")
    )
    amount: float = pa.Field(metadata=_meta("bedrag", **MONEY))


class PayrollExtract(pa.DataFrameModel):
    period: str = pa.Field(str_matches=PERIOD, metadata=_meta("periode"))
    cost_center: str = pa.Field(metadata=_meta("kostenplaats"))
    paid_fte: float = pa.Field(ge=0, metadata=_meta("betaalde_fte"))
    paid_headcount: int = pa.Field(ge=0, metadata=_meta("betaalde_medewerkers"))
    gross_salary_cost: float = pa.Field(metadata=_meta("brutoloon", **MONEY))
    employer_charges: float = pa.Field(metadata=_meta("werkgeverslasten", **MONEY))


class FormationExtract(pa.DataFrameModel):
    year: int = pa.Field(ge=1900, le=2200, metadata=_meta("jaar"))
    cost_center: str = pa.Field(metadata=_meta("kostenplaats"))
    job_family: str = pa.Field(metadata=_meta("functiefamilie"))
    budget_fte: float = pa.Field(ge=0, metadata=_meta("formatie_fte"))
