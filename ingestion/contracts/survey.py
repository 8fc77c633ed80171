"""Contracts for the employee survey (MTO) extracts."""

import pandera.polars as pa
import polars as pl

from ingestion.contracts.hris import _meta


class WaveExtract(pa.DataFrameModel):
    wave_id: str = pa.Field(unique=True, metadata=_meta("meting"))
    name: str = pa.Field(metadata=_meta("naam"))
    start_date: pl.Date = pa.Field(metadata=_meta("startdatum"))
    end_date: pl.Date = pa.Field(metadata=_meta("einddatum"))
    anonymity: str = pa.Field(isin=["anonymous", "confidential"], metadata=_meta("anonimiteit"))

    @pa.dataframe_check(name="end_date is on or after start_date")
    def end_not_before_start(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("end_date") >= pl.col("start_date"))


class ItemExtract(pa.DataFrameModel):
    item_id: str = pa.Field(unique=True, metadata=_meta("vraag_id"))
    construct: str = pa.Field(metadata=_meta("thema"))
    text: str = pa.Field(metadata=_meta("vraagtekst"))
    scale_min: int = pa.Field(metadata=_meta("schaal_min"))
    scale_max: int = pa.Field(metadata=_meta("schaal_max"))
    is_reverse_scored: bool = pa.Field(metadata=_meta("omgekeerd_gescoord"))

    @pa.dataframe_check(name="scale_max is above scale_min")
    def scale_is_ordered(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("scale_max") > pl.col("scale_min"))


class InvitationExtract(pa.DataFrameModel):
    wave_id: str = pa.Field(metadata=_meta("meting"))
    org_unit_id: str = pa.Field(metadata=_meta("afdeling"))
    invited: int = pa.Field(ge=0, metadata=_meta("uitgenodigd"))


class ResponseExtract(pa.DataFrameModel):
    wave_id: str = pa.Field(metadata=_meta("meting"))
    respondent_id: str = pa.Field(metadata=_meta("respondent"))
    org_unit_id: str = pa.Field(metadata=_meta("afdeling"))
    employee_id: str = pa.Field(
        nullable=True, metadata=_meta("personeelsnummer", optional=True, identifier=True)
    )
    item_id: str = pa.Field(metadata=_meta("vraag_id"))
    score: float = pa.Field(nullable=True, metadata=_meta("antwoord", optional=True))
    submitted_at: pl.Datetime = pa.Field(
        nullable=True, metadata=_meta("ingevuld_op", optional=True)
    )
