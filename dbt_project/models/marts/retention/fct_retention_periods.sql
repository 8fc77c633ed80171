-- Retention per calendar month, quarter and year (KPIS.md): people active on the first day of
-- the period, and how many of them are still active on its last day in the same employment
-- period (someone who leaves and is re-hired within the period was not retained). One row per
-- period and segment on the first day; only periods that have ended by the snapshot day.
-- Grouped on the segment's number and the grain's month count, not on text (170 million groups
-- at a million employees): the text comes back in a join once the sums are small.
with

coverage as (

    select * from {{ ref('int_workforce_pieces_split') }}
    where piece_kind = 'coverage'

),

segment_numbers as (

    select * from {{ ref('int_workforce_segments_numbered') }}

),

snapshot as (

    select as_of_date from {{ ref('int_hr_snapshots_dated') }}

),

grains as (

    select 'month' as period_grain, 0 as extra_months
    union all
    select 'quarter' as period_grain, 2 as extra_months
    union all
    select 'year' as period_grain, 11 as extra_months

),

first_days as (

    select
        coverage.employment_period_key,
        segment_numbers.segment_number,
        grains.extra_months,
        coverage.month_start_date as period_start_date,
        cast({{ dbt.last_day(dbt.dateadd('month', 'grains.extra_months',
                                         'coverage.month_start_date'), 'month') }} as date)
            as period_end_date
    from coverage
    inner join segment_numbers
        on coverage.segment_key = segment_numbers.segment_key
    cross join grains
    where coverage.sub_from = coverage.month_start_date
        and (
            grains.period_grain = 'month'
            or coverage.month_start_date
                = cast({{ dbt.date_trunc('quarter', 'coverage.month_start_date') }} as date)
            and grains.period_grain = 'quarter'
            or coverage.month_start_date
                = cast({{ dbt.date_trunc('year', 'coverage.month_start_date') }} as date)
            and grains.period_grain = 'year'
        )

),

-- An employment period runs without interruption from hire to termination (a gap between
-- contracts inside it is a data finding, fct_workforce_findings): retained = the period is not
-- terminated before the last day. One row per period, not per covered month: it stays small.
periods as (

    select employment_period_key, termination_date
    from {{ ref('int_employment_periods_derived') }}

),

counted as (

    select
        first_days.extra_months,
        first_days.period_start_date,
        first_days.segment_number,
        count(*) as starters,
        sum(
            case
                when periods.termination_date is null
                    or periods.termination_date >= first_days.period_end_date
                    then 1
                else 0
            end
        ) as retained
    from first_days
    cross join snapshot
    inner join periods
        on first_days.employment_period_key = periods.employment_period_key
    where first_days.period_end_date <= snapshot.as_of_date
    group by
        first_days.extra_months,
        first_days.period_start_date,
        first_days.segment_number

),

final as (

    select
        grains.period_grain,
        counted.period_start_date,
        cast({{ dbt.last_day(dbt.dateadd('month', 'counted.extra_months',
                                         'counted.period_start_date'), 'month') }} as date)
            as period_end_date,
        segment_numbers.segment_key,
        counted.starters,
        counted.retained
    from counted
    inner join grains
        on counted.extra_months = grains.extra_months
    inner join segment_numbers
        on counted.segment_number = segment_numbers.segment_number

)

select * from final
