{{ config(materialized="table") }}
-- A table, not a view: several marts and tests read it, and a view would be computed again for
-- each of them.
-- Every contract with the employment period it belongs to: a period runs from a hire to the
-- first termination on or after the contract's start, so a re-hire opens a new period.
with

contracts as (

    select * from {{ ref('stg_hris__contracts') }}

),

terminations as (

    select * from {{ ref('stg_hris__terminations') }}

),

snapshot as (

    select as_of_date from {{ ref('int_hr_snapshots_dated') }}

),

period_ends as (

    select
        contracts.contract_id,
        min(terminations.termination_date) as period_end_date
    from contracts
    left join terminations
        on contracts.employee_key = terminations.employee_key
        and terminations.termination_date >= contracts.valid_from
    group by contracts.contract_id

),

assigned as (

    select
        contracts.contract_id,
        contracts.employee_key,
        {{ dbt.hash(dbt.concat([
            'contracts.employee_key', "'|'",
            "coalesce(cast(period_ends.period_end_date as " ~ dbt.type_string() ~ "), 'open')"
        ])) }} as employment_period_key,
        contracts.org_unit_id,
        contracts.job_code,
        contracts.cost_center,
        contracts.contract_type,
        contracts.manager_employee_key,
        contracts.hours_per_week,
        contracts.fulltime_hours,
        round(cast(contracts.hours_per_week / contracts.fulltime_hours as decimal(12, 6)), 4)
            as parttime_factor,
        contracts.monthly_salary,
        contracts.contract_type = 'external' as is_external,
        coalesce(contracts.is_concurrent, false) as is_concurrent,
        contracts.valid_from,
        contracts.valid_to,
        period_ends.period_end_date,
        -- Facts stop at the snapshot day, at the end of employment, at the contract's end.
        least(
            coalesce(contracts.valid_to, snapshot.as_of_date),
            coalesce(period_ends.period_end_date, snapshot.as_of_date),
            snapshot.as_of_date
        ) as effective_to
    from contracts
    inner join period_ends
        on contracts.contract_id = period_ends.contract_id
    cross join snapshot

)

select * from assigned
