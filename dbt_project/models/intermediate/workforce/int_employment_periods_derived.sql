{{ config(materialized="table") }}
-- A table, not a view: several marts and tests read it, and a view would be computed again for
-- each of them.
-- One row per employment period (hire to termination). External (hired-in) contracts never make
-- an employment period: they are workforce, not employees.
with

contracts as (

    select * from {{ ref('int_contracts_assigned_to_periods') }}
    where not is_external

),

terminations as (

    select * from {{ ref('stg_hris__terminations') }}

),

snapshot as (

    select as_of_date from {{ ref('int_hr_snapshots_dated') }}

),

periods as (

    select
        employment_period_key,
        employee_key,
        min(valid_from) as hire_date,
        max(period_end_date) as termination_date,
        count(*) as contracts
    from contracts
    group by employment_period_key, employee_key

),

numbered as (

    select
        periods.*,
        row_number() over (
            partition by periods.employee_key order by periods.hire_date
        ) as period_number
    from periods

),

final as (

    select
        numbered.employment_period_key,
        numbered.employee_key,
        numbered.period_number,
        numbered.hire_date,
        case
            when numbered.termination_date <= snapshot.as_of_date
                then numbered.termination_date
        end as termination_date,
        terminations.reason_code,
        terminations.initiative,
        coalesce(terminations.initiative = 'employee', false) as is_voluntary,
        coalesce(terminations.is_regretted, false) as is_regretted,
        numbered.period_number > 1 as is_rehire,
        numbered.contracts
    from numbered
    cross join snapshot
    left join terminations
        on numbered.employee_key = terminations.employee_key
        and numbered.termination_date = terminations.termination_date
        and numbered.termination_date <= snapshot.as_of_date

)

select * from final
