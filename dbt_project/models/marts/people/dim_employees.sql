-- One row per employee and contract (the history of effective-dated attributes), with the
-- pseudonymised key, gender, and age band and AOW date instead of the birth date.
with

contracts as (

    select * from {{ ref('int_contracts_assigned_to_periods') }}

),

employees as (

    select * from {{ ref('stg_hris__employees') }}

),

birth_dates as (

    select * from {{ ref('stg_restricted__hris_employees') }}

),

aow_ages as (

    select * from {{ ref('aow_ages') }}

),

snapshot as (

    select as_of_date from {{ ref('int_hr_snapshots_dated') }}

),

aow as (

    select
        birth_dates.employee_key,
        cast({{ dbt.dateadd('month', '(aow_ages.aow_years * 12 + aow_ages.aow_months)',
                            'birth_dates.birth_date') }} as date) as aow_date,
        aow_ages.is_assumption as is_aow_date_assumed,
        case
            when birth_dates.birth_date is null then 'unknown'
            else {{ age_band(completed_years('birth_dates.birth_date', 'snapshot.as_of_date')) }}
        end as age_band
    from birth_dates
    cross join snapshot
    left join aow_ages
        on birth_dates.birth_date between aow_ages.born_from and aow_ages.born_to

),

final as (

    select
        contracts.contract_id,
        contracts.employee_key,
        contracts.employment_period_key,
        employees.gender,
        aow.age_band as age_band_today,
        aow.aow_date,
        aow.is_aow_date_assumed,
        contracts.org_unit_id,
        contracts.job_code,
        contracts.cost_center,
        contracts.contract_type,
        contracts.manager_employee_key,
        contracts.hours_per_week,
        contracts.fulltime_hours,
        contracts.parttime_factor,
        contracts.is_external,
        contracts.is_concurrent,
        contracts.valid_from,
        contracts.valid_to,
        contracts.effective_to,
        contracts.valid_from <= snapshot.as_of_date
            and contracts.effective_to >= snapshot.as_of_date as is_current
    from contracts
    cross join snapshot
    inner join employees
        on contracts.employee_key = employees.employee_key
    left join aow
        on contracts.employee_key = aow.employee_key

)

select * from final
