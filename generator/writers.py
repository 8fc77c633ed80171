"""Write generated frames as the files real systems send, in every accepted format and dialect.

Writers append chunk by chunk, so a million-employee organisation streams to disk.
"""

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from ingestion.registry import find_spec


@dataclass(frozen=True)
class FileStyle:
    """How one system exports one entity."""

    format: str  # csv | xlsx | parquet
    dutch: bool = False  # cp1252, ';', decimal comma, DD-MM-YYYY, Dutch headers
    bom: bool = False


CANONICAL = FileStyle("csv")
DUTCH = FileStyle("csv", dutch=True)
BOM = FileStyle("csv", bom=True)
XLSX = FileStyle("xlsx")
PARQUET = FileStyle("parquet")


def dutch_headers(source: str, entity: str, columns: list[str]) -> list[str]:
    """The first alias of each contract column, as a Dutch export would label it."""
    spec = find_spec(source, entity)
    aliases = {c.name: c.aliases[0] for c in spec.columns if c.aliases}
    aliases |= {"full_name": "naam", "bsn": "bsn"}
    return [aliases.get(c, c) for c in columns]


def _dutch_frame(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.col(c).replace_strict({True: "ja", False: "nee"}, default=None, return_dtype=pl.String)
        for c, t in frame.schema.items()
        if t == pl.Boolean
    )


class DeliveryFile:
    """One file of a delivery, written in one or more chunks."""

    def __init__(self, path: Path, source: str, entity: str, style: FileStyle):
        self.path, self.source, self.entity, self.style = path, source, entity, style
        self.rows = 0
        self._parquet: pq.ParquetWriter | None = None
        self._xlsx_parts: list[pl.DataFrame] = []
        self._started = False
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.unlink()

    def append(self, frame: pl.DataFrame) -> None:
        first = self.rows == 0 and not self._started
        self.rows += frame.height
        if self.style.format == "parquet":
            table = frame.to_arrow()
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, table.schema)
            self._parquet.write_table(table)
        elif self.style.format == "xlsx":
            self._xlsx_parts.append(frame)
        else:
            self._append_csv(frame, header=first)
        self._started = True

    def _append_csv(self, frame: pl.DataFrame, header: bool) -> None:
        if self.style.dutch:
            renamed = _dutch_frame(frame)
            renamed.columns = dutch_headers(self.source, self.entity, frame.columns)
            text = renamed.write_csv(
                separator=";",
                decimal_comma=True,
                date_format="%d-%m-%Y",
                datetime_format="%d-%m-%Y %H:%M:%S",
                include_header=header,
                line_terminator="\r\n",
            )
            data = text.encode("cp1252")
        else:
            text = frame.write_csv(
                include_header=header, date_format="%Y-%m-%d", datetime_format="%Y-%m-%d %H:%M:%S"
            )
            data = text.encode("utf-8")
            if header and self.style.bom:
                data = b"\xef\xbb\xbf" + data
        with self.path.open("ab") as handle:
            handle.write(data)

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        elif self.style.format == "xlsx":
            frame = pl.concat(self._xlsx_parts) if self._xlsx_parts else pl.DataFrame()
            frame.write_excel(self.path, worksheet=self.entity, autofit=False)
        elif not self._started:
            self.path.write_bytes(b"")


def write_whole(
    path: Path, source: str, entity: str, style: FileStyle, frame: pl.DataFrame
) -> DeliveryFile:
    file = DeliveryFile(path, source, entity, style)
    file.append(frame)
    file.close()
    return file
