{{ config(materialized="table") }}

-- One row per employee with a whole number standing in for the 20-character key: the workforce
-- and nulverzuim facts join and sort on it, which at a million employees is what keeps their
-- joins inside the memory bound (DECISIONS.md, 2026-12-01 and 2026-12-04). Numbered in key
-- order, so a sort on the number is a sort on the key.
select
    employee_key,
    row_number() over (order by employee_key) as employee_number
from {{ ref('stg_hris__employees') }}
