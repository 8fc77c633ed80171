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
    if not columns:
        return []
    # One pass over the file with a length test (polars evaluates both sides of an `&`, so a
    # regex next to it would still read every cell); the regex and the 11-proef only on the
    # few rows left.
    sized = [pl.col(c).str.len_bytes().is_between(9, 15).fill_null(False) for c in columns]
    candidates = (
        frame.lazy().filter(pl.any_horizontal(sized)).select("_row_number", *columns).collect()
    )
    found = []
    for column in columns:
        digits = candidates.filter(pl.col(column).str.contains(r"^\s*\d{9}\s*$"))
        found.extend(
            (row, column)
            for row, value in digits.select("_row_number", column).iter_rows()
            if passes_11_proef(value.strip())
        )
    return found


class Pseudonymiser:
    """HMAC-SHA256 with the organisation's secret key; the key never enters the warehouse."""

    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("the pseudonymisation key must be at least 16 bytes")
        self._key = key
        # Every HR snapshot repeats the same ids in many files: each id is hashed once per run
        # and the mapping kept as a frame, so a column is pseudonymised by one join.
        self._known = pl.DataFrame(schema={"value": pl.String, "pseudonym": pl.String})

    def pseudonym(self, identifier: str) -> str:
        digest = hmac.new(self._key, identifier.strip().encode(), hashlib.sha256).hexdigest()
        return digest[:PSEUDONYM_LENGTH]

    def column(self, values: pl.Series) -> pl.Series:
        """Pseudonymise a column; each distinct value is hashed once."""
        if values.null_count() == values.len():
            return values  # e.g. the employee link of an anonymous survey wave
        distinct = values.drop_nulls().unique().to_frame("value")
        new = distinct.join(self._known, on="value", how="anti")["value"]
        if new.len():
            hashed = pl.DataFrame(
                {"value": new, "pseudonym": [self.pseudonym(v) for v in new]},
                schema={"value": pl.String, "pseudonym": pl.String},
            )
            self._known = pl.concat([self._known, hashed], rechunk=False)
        joined = values.to_frame("value").join(
            self._known, on="value", how="left", maintain_order="left"
        )
        return joined["pseudonym"].alias(values.name)
