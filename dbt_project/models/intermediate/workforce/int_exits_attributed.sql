{{ config(materialized="table") }}
-- A table, not a view: several marts and tests read it, and a view would be computed again for
-- each of them.
-- One row per ended employment period, attributed to the segment of the last day worked (org
-- unit, job, manager, tenure band at exit), with the tenure in days employed (both ends counted).
with

coverage as (

    select
        *,
        row_number() over (
            partition by employment_period_key order by sub_to desc nulls last
        ) as reverse_order
    from {{ ref('int_workforce_pieces_split') }}
    where is_coverage = true

),

periods as (

    select * from {{ ref('int_employment_periods_derived') }}
    where termination_date is not null

),

final as (

    select
        periods.employment_period_key,
        periods.employee_key,
        coverage.segment_key,
        periods.hire_date,
        periods.termination_date,
        cast({{ dbt.date_trunc('month', 'periods.termination_date') }} as date)
            as termination_month_start_date,
        periods.reason_code,
        periods.initiative,
        periods.is_voluntary,
        periods.is_regretted,
        periods.is_rehire,
        {{ dbt.datediff('periods.hire_date', 'periods.termination_date', 'day') }} + 1
            as tenure_days
    from periods
    inner join coverage
        on periods.employment_period_key = coverage.employment_period_key
    where coverage.reverse_order = 1

)

select * from final
