{{ config(materialized="table") }}

-- One row per employee, month and segment with workforce pieces: employed days (coverage pieces
-- count the days once), FTE days, month-end headcount and FTE, hires and internal moves, keyed on
-- the whole-number stand-ins for the employee and segment keys. fct_workforce_monthly joins the
-- flows and the text keys on and sorts. Written apart from it: in one query the sum of 130
-- million piece-month groups (at a million employees), the full join with the flows and the sort
-- held their memory together, and that query ran out of its 10GB bound in one of three
-- million-employee nights. Apart, each query holds less: at 100,000 employees the one query
-- failed under an 800 MB bound and needed 850, the two pass under 300 (DECISIONS.md,
-- 2026-12-04, session 35). The pieces are grouped on the keys' numbers and carry six measures,
-- not seventeen: one group takes a quarter of the memory, and the sum that spilled 69 GB at a
-- million employees spills about 15 (DECISIONS.md, 2026-12-01).
with

contracts as (

    select * from {{ ref('int_contracts_assigned_to_periods') }}

),

-- A new contract in the same employment period with another job or org unit is an internal move.
moves as (

    select
        contract_id,
        valid_from
    from (
        select
            contract_id,
            valid_from,
            org_unit_id,
            job_code,
            lag(org_unit_id) over (
                partition by employment_period_key order by valid_from, contract_id
            ) as previous_org_unit_id,
            lag(job_code) over (
                partition by employment_period_key order by valid_from, contract_id
            ) as previous_job_code
        from contracts
        where not is_external and not is_concurrent
    ) as sequenced
    where previous_org_unit_id is not null
        and (org_unit_id <> previous_org_unit_id or job_code <> previous_job_code)

),

employee_numbers as (

    select * from {{ ref('int_employees_numbered') }}

),

segment_numbers as (

    select * from {{ ref('int_workforce_segments_numbered') }}

),

-- Coverage pieces count the employed days once; every piece counts its contract's part-time factor.
piece_measures as (

    select
        employee_numbers.employee_number,
        segment_numbers.segment_number,
        pieces.month_start_date,
        case when pieces.is_coverage then pieces.days else 0 end as employed_days,
        pieces.days * pieces.parttime_factor as fte_days,
        case
            when pieces.is_coverage and pieces.sub_to = pieces.month_end_date then 1
            else 0
        end as headcount_at_month_end,
        case
            when pieces.sub_to = pieces.month_end_date then pieces.parttime_factor
            else 0
        end as fte_at_month_end,
        case
            when pieces.is_coverage and pieces.sub_from = pieces.hire_date then 1
            else 0
        end as hires,
        case when moves.contract_id is not null then 1 else 0 end as internal_moves
    from {{ ref('int_workforce_pieces_split') }} as pieces
    inner join employee_numbers
        on pieces.employee_key = employee_numbers.employee_key
    inner join segment_numbers
        on pieces.segment_key = segment_numbers.segment_key
    left join moves
        on pieces.contract_id = moves.contract_id
        and pieces.sub_from = moves.valid_from
        and pieces.is_coverage = true

),

-- Counts are cast to bigint: DuckDB sums integers as 128-bit HUGEINT, which its Parquet export
-- writes as DOUBLE (a BI tool read 1.0 hires) and the PostgreSQL load as numeric; and a 128-bit
-- column costs more to write in every copy (the warehouse, the serving file, the export).
piece_months as (

    select
        employee_number,
        month_start_date,
        segment_number,
        cast(sum(employed_days) as {{ dbt.type_bigint() }}) as employed_days,
        cast(sum(fte_days) as {{ type_fte() }}) as fte_days,
        max(headcount_at_month_end) as headcount_at_month_end,
        cast(sum(fte_at_month_end) as {{ type_fte() }}) as fte_at_month_end,
        cast(sum(hires) as {{ dbt.type_bigint() }}) as hires,
        cast(sum(internal_moves) as {{ dbt.type_bigint() }}) as internal_moves
    from piece_measures
    group by employee_number, month_start_date, segment_number

)

select * from piece_months
