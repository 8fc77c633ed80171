"""Identities every built warehouse must satisfy, checked on hand-made and generated data."""

import duckdb

from quality.identities import HEADCOUNT_FLOW_RESIDUALS


def unit_headcount_identity_breaks(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.sql(
        "select org_unit_id, month_start_date, previous_headcount, change, headcount "
        f"from ({HEADCOUNT_FLOW_RESIDUALS}) where residual <> 0 order by 1, 2"
    ).fetchall()
