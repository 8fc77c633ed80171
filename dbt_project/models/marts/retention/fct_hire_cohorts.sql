-- One row per hire (employment period started inside the reporting range): did the person
-- leave within 365 days of the hire (termination - hire < 365), and has the hire been followed
-- up for a full 365 days by the snapshot day? Cohorts with any hire short of that are
-- incomplete: their first-year turnover may still rise.
with

periods as (

    select * from {{ ref('int_employment_periods_derived') }}

),

hire_segments as (

    select
        employment_period_key,
        segment_key,
        row_number() over (partition by employment_period_key order by sub_from) as piece_order
    from {{ ref('int_workforce_pieces_split') }}
    where is_coverage = true

),

snapshot as (

    select as_of_date from {{ ref('int_hr_snapshots_dated') }}

),

final as (

    select
        periods.employment_period_key,
        periods.employee_key,
        hire_segments.segment_key,
        periods.hire_date,
        cast({{ dbt.date_trunc('month', 'periods.hire_date') }} as date) as hire_month_start_date,
        periods.termination_date,
        periods.is_rehire,
        case
            when periods.termination_date is not null
                and {{ dbt.datediff('periods.hire_date', 'periods.termination_date', 'day') }}
                < 365
                then 1
            else 0
        end as left_in_first_year,
        case
            when {{ dbt.datediff('periods.hire_date', 'snapshot.as_of_date', 'day') }} >= 364
                then 1
            else 0
        end as is_follow_up_complete
    from periods
    cross join snapshot
    inner join hire_segments
        on periods.employment_period_key = hire_segments.employment_period_key
        and hire_segments.piece_order = 1
    where periods.hire_date >= (
        select min(month_start_date) from {{ ref('int_workforce_pieces_split') }}
    )

)

select * from final
