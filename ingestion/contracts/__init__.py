"""Pandera (polars) contracts: one DataFrameModel per extract file, grouped by source.

Each field's `metadata` carries what the contract page says besides the type:
`aliases` (Dutch export headers), `optional` (the column may be absent from the file),
`identifier` (pseudonymised at the door), `restricted` (kept out of the raw layer) and
`sql_type` (the raw-table type when it differs from the polars type).
"""
