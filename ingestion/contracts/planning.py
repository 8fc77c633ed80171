"""Contracts for the strategic workforce planning extracts."""

import pandera.polars as pa

from ingestion.contracts.hris import _meta


class DemandScenarioExtract(pa.DataFrameModel):
    scenario: str = pa.Field(metadata=_meta("scenario"))
    year: int = pa.Field(ge=1900, le=2200, metadata=_meta("jaar"))
    job_family: str = pa.Field(metadata=_meta("functiefamilie"))
    demand_fte: float = pa.Field(ge=0, metadata=_meta("benodigde_fte"))
