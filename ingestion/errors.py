"""The error types ingestion reports: a rejected file, and one problem on one row."""

from dataclasses import dataclass


class FileRejected(Exception):
    """The whole file is quarantined; the message names the file and the reason."""


@dataclass(frozen=True)
class RowIssue:
    row_number: int  # 1-based data record, the header not counted
    column: str | None
    value: str | None
    reason: str
