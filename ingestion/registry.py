"""The one list of extracts the platform accepts (EXTRACTS.md), with their load semantics."""

from dataclasses import dataclass, field
from functools import cached_property

import pandera.polars as pa
import polars as pl

from ingestion.contracts import finance, hris, planning, survey

SOURCES = ("hris", "survey", "finance", "planning")


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    dtype: pl.DataType
    nullable: bool
    optional: bool
    aliases: tuple[str, ...]
    identifier: bool
    restricted: bool
    sql_type: str


_SQL_TYPES = {
    pl.String: "VARCHAR",
    pl.Date: "DATE",
    pl.Float64: "DOUBLE",
    pl.Int64: "BIGINT",
    pl.Boolean: "BOOLEAN",
    pl.Datetime: "TIMESTAMP",
}


@dataclass(frozen=True)
class ExtractSpec:
    """One extract file: where it lands, its contract and how a new delivery supersedes old ones.

    `replace_by` names the column whose values a newer file replaces (a survey wave, a finance
    period); None means the newest file replaces the whole entity (a snapshot).
    """

    source: str
    entity: str
    contract: type[pa.DataFrameModel]
    replace_by: str | None = None
    required_in_snapshot: bool = False
    dropped_columns: tuple[str, ...] = field(default=())

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.entity)

    @property
    def raw_table(self) -> str:
        return f"raw_{self.source}.{self.entity}"

    @cached_property
    def columns(self) -> tuple[ColumnSpec, ...]:
        schema = self.contract.to_schema()
        out = []
        for name, column in schema.columns.items():
            meta = column.metadata or {}
            dtype = column.dtype.type
            base = _SQL_TYPES.get(type(dtype)) or _SQL_TYPES[dtype.base_type()]
            out.append(
                ColumnSpec(
                    name=name,
                    dtype=dtype,
                    nullable=column.nullable,
                    optional=meta.get("optional", False),
                    aliases=tuple(meta.get("aliases", ())),
                    identifier=meta.get("identifier", False),
                    restricted=meta.get("restricted", False),
                    sql_type=meta.get("sql_type", base),
                )
            )
        return tuple(out)

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)


# Names and BSN arrive in real HRIS exports; they are recognised so they can be dropped at the door.
_PERSONAL_COLUMNS = ("bsn", "full_name")

EXTRACTS: tuple[ExtractSpec, ...] = (
    ExtractSpec(
        "hris",
        "employees",
        hris.EmployeeExtract,
        required_in_snapshot=True,
        dropped_columns=_PERSONAL_COLUMNS,
    ),
    ExtractSpec("hris", "contracts", hris.ContractExtract, required_in_snapshot=True),
    ExtractSpec("hris", "terminations", hris.TerminationExtract, required_in_snapshot=True),
    ExtractSpec("hris", "org_units", hris.OrgUnitExtract, required_in_snapshot=True),
    ExtractSpec("hris", "jobs", hris.JobExtract, required_in_snapshot=True),
    ExtractSpec("hris", "absences", hris.AbsenceExtract),
    ExtractSpec("hris", "absence_milestones", hris.AbsenceMilestoneExtract),
    ExtractSpec("hris", "vacancies", hris.VacancyExtract),
    ExtractSpec("survey", "waves", survey.WaveExtract, replace_by="wave_id"),
    ExtractSpec("survey", "items", survey.ItemExtract, replace_by="item_id"),
    ExtractSpec("survey", "invitations", survey.InvitationExtract, replace_by="wave_id"),
    ExtractSpec("survey", "responses", survey.ResponseExtract, replace_by="wave_id"),
    ExtractSpec("finance", "cost_centers", finance.CostCenterExtract),
    ExtractSpec("finance", "gl_entries", finance.GlEntryExtract, replace_by="period"),
    ExtractSpec("finance", "payroll", finance.PayrollExtract, replace_by="period"),
    ExtractSpec("finance", "formation", finance.FormationExtract, replace_by="year"),
    ExtractSpec("planning", "demand_scenarios", planning.DemandScenarioExtract),
)

# Alias of the employees file's full_name column in Dutch exports.
PERSONAL_COLUMN_ALIASES = {
    "naam": "full_name",
    "volledige_naam": "full_name",
    "burgerservicenummer": "bsn",
    "sofinummer": "bsn",
}


def find_spec(source: str, entity: str) -> ExtractSpec | None:
    entity = entity.lower()
    return next((s for s in EXTRACTS if s.source == source and s.entity == entity), None)
