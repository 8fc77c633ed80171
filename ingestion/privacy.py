"""Privacy at the door: keyed pseudonyms, BSN detection, and columns that must never be stored."""

import hashlib
import hmac
import re
import unicodedata

import polars as pl

# Substrings of a header that signal medical content: the Dutch DPA does not allow an employer to
# register diagnoses or complaints, so such a file is refused whole rather than trimmed.
MEDICAL_MARKERS = (
    "diagnos",
    "klacht",
    "complaint",
    "medical",
    "medisch",
    "illness",
    "ziektebeeld",
    "disease",
    "symptom",
    "aandoening",
    "oorzaak",
    "icd",
    "behandel",
    "treatment",
    "condition",
    "reden_verzuim",
    "ziekteoorzaak",
)
PSEUDONYM_LENGTH = 20  # 80 bits: no collision to expect below billions of people


def normalise_header(name: str) -> str:
    """Lower case, accents stripped, spaces/dashes/punctuation to `_` (EXTRACTS.md)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.strip().lower()).strip("_")


def looks_medical(normalised_header: str) -> bool:
    return any(marker in normalised_header for marker in MEDICAL_MARKERS)


def passes_11_proef(value: str) -> bool:
    """The BSN check: 9 digits, 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 divisible by 11, not all zero."""
    if len(value) != 9 or not value.isdigit() or value == "000000000":
        return False
    digits = [int(ch) for ch in value]
    total = sum(weight * digit for weight, digit in zip(range(9, 1, -1), digits[:8], strict=True))
    return (total - digits[8]) % 11 == 0


def bsn_like_rows(frame: pl.DataFrame, columns: list[str]) -> list[tuple[int, str]]:
    """(row_number, column) of every cell holding a 9-digit value that passes the 11-proef."""
    found = []
    for column in columns:
        candidates = frame.filter(pl.col(column).str.contains(r"^\s*\d{9}\s*$")).select(
            "_row_number", column
        )
        found.extend(
            (row, column) for row, value in candidates.iter_rows() if passes_11_proef(value.strip())
        )
    return found


class Pseudonymiser:
    """HMAC-SHA256 with the organisation's secret key; the key never enters the warehouse."""

    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("the pseudonymisation key must be at least 16 bytes")
        self._key = key

    def pseudonym(self, identifier: str) -> str:
        digest = hmac.new(self._key, identifier.strip().encode(), hashlib.sha256).hexdigest()
        return digest[:PSEUDONYM_LENGTH]

    def column(self, values: pl.Series) -> pl.Series:
        """Pseudonymise a column; each distinct value is hashed once."""
        distinct = values.drop_nulls().unique()
        mapping = pl.DataFrame(
            {"value": distinct, "pseudonym": [self.pseudonym(v) for v in distinct]},
            schema={"value": pl.String, "pseudonym": pl.String},
        )
        joined = values.to_frame("value").join(
            mapping, on="value", how="left", maintain_order="left"
        )
        return joined["pseudonym"].alias(values.name)
