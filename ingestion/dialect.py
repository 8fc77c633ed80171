"""Deterministic detection of a CSV file's encoding, separator and decimal mark.

Two dialects are accepted (EXTRACTS.md): UTF-8 with `,` and `.`, and the Dutch Windows-1252 export
with `;` and `,`. The separator is chosen by which split of the header names more contract
columns, so a stray `;` in a UTF-8 header cannot fool it; anything that does not decide clearly
is rejected, never guessed.
"""

from collections.abc import Callable
from dataclasses import dataclass

from ingestion.errors import FileRejected

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class CsvDialect:
    encoding: str  # "utf-8" or "cp1252"
    separator: str
    decimal_comma: bool


def decode(data: bytes, file_name: str) -> tuple[str, str]:
    """Return (text, encoding). UTF-8 is tried first: valid UTF-8 is never meant as cp1252."""
    if data.startswith(UTF16_BOMS):
        raise FileRejected(
            f"{file_name}: UTF-16 text is not an accepted encoding "
            "(export as UTF-8 or Windows-1252)"
        )
    if b"\x00" in data[:65536]:
        raise FileRejected(f"{file_name}: contains NUL bytes; this is not a text (CSV) file")
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as error:
            raise FileRejected(
                f"{file_name}: starts with a UTF-8 byte-order mark but byte {error.start} "
                "is not valid UTF-8"
            ) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as error:
        raise FileRejected(
            f"{file_name}: neither UTF-8 nor Windows-1252 (byte 0x{data[error.start]:02x} at "
            f"offset {error.start} is undefined in both)"
        ) from None


def header_line(text: str) -> str:
    end = text.find("\n")
    return (text if end < 0 else text[:end]).rstrip("\r")


def detect(
    text: str, encoding: str, file_name: str, recognise: Callable[[list[str]], int]
) -> CsvDialect:
    """Pick the separator whose header split names the most known columns.

    `recognise` counts how many header cells map to a contract column.
    """
    header = header_line(text)
    if not header.strip():
        raise FileRejected(f"{file_name}: empty file or empty header line")
    scores = {sep: recognise(_split_header(header, sep)) for sep in (",", ";")}
    comma, semicolon = scores[","], scores[";"]
    if comma == semicolon:
        raise FileRejected(
            f"{file_name}: cannot tell the separator: splitting the header on ',' and on ';' "
            f"recognises {comma} contract columns either way"
        )
    separator = "," if comma > semicolon else ";"
    return CsvDialect(encoding=encoding, separator=separator, decimal_comma=separator == ";")


def _split_header(header: str, separator: str) -> list[str]:
    return [cell.strip().strip('"') for cell in header.split(separator)]
