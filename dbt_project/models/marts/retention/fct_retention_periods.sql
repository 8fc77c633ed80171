-- Retention per calendar month, quarter and year (KPIS.md): people active on the first day of
-- the period, and how many of them are still active on its last day in the same employment
-- period (someone who leaves and is re-hired within the period was not retained). One row per
-- period and segment on the first day; only periods that have ended by the snapshot day.
-- Grouped on the grain's month count and the segment, not on the grain's name and end date (170
-- million groups at a million employees). Not on the segment's number either: joining the text
-- key back after the sum, DuckDB guessed the sum small and built its hash table on it, which
-- ran out of memory at a million employees (DECISIONS.md, 2026-12-01).
with

coverage as (

    select * from {{ ref('int_workforce_pieces_split') }}
    where is_coverage = true

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

-- An employment period runs without interruption from hire to termination (a gap between
-- contracts inside it is a data finding, fct_workforce_findings): retained = the period is not
-- terminated before the last day. One row per period, not per covered month: it stays small.
periods as (

    select employment_period_key, termination_date
    from {{ ref('int_employment_periods_derived') }}

),

-- The period's end joins the first days before the grains multiply them: the join then builds
-- its hash table on the employment periods (millions) and streams the first days through it.
-- After the cross join DuckDB guessed the first days fewer than the periods, built on them
-- instead (hundreds of millions at a million employees) and ran out of memory.
starts as (

    select
        coverage.segment_key,
        coverage.month_start_date,
        periods.termination_date
    from coverage
    inner join periods
        on coverage.employment_period_key = periods.employment_period_key
    where coverage.sub_from = coverage.month_start_date

),

first_days as (

    select
        starts.segment_key,
        starts.termination_date,
        grains.extra_months,
        starts.month_start_date as period_start_date,
        cast({{ dbt.last_day(dbt.dateadd('month', 'grains.extra_months',
                                         'starts.month_start_date'), 'month') }} as date)
            as period_end_date
    from starts
    cross join grains
    where grains.period_grain = 'month'
        or starts.month_start_date
            = cast({{ dbt.date_trunc('quarter', 'starts.month_start_date') }} as date)
        and grains.period_grain = 'quarter'
        or starts.month_start_date
            = cast({{ dbt.date_trunc('year', 'starts.month_start_date') }} as date)
        and grains.period_grain = 'year'

),

counted as (

    select
        first_days.extra_months,
        first_days.period_start_date,
        first_days.segment_key,
        count(*) as starters,
        cast(sum(
            case
                when first_days.termination_date is null
                    or first_days.termination_date >= first_days.period_end_date
                    then 1
                else 0
            end
        ) as {{ dbt.type_bigint() }}) as retained
    from first_days
    cross join snapshot
    where first_days.period_end_date <= snapshot.as_of_date
    group by
        first_days.extra_months,
        first_days.period_start_date,
        first_days.segment_key

),

final as (

    select
        grains.period_grain,
        counted.period_start_date,
        cast({{ dbt.last_day(dbt.dateadd('month', 'counted.extra_months',
                                         'counted.period_start_date'), 'month') }} as date)
            as period_end_date,
        counted.segment_key,
        counted.starters,
        counted.retained
    from counted
    inner join grains
        on counted.extra_months = grains.extra_months

)

-- Each segment's rows stored together: a third of the space in the warehouse, the serving copy
-- and the Parquet export (a tenth there) -- what made a million-employee night fit on the disk.
select * from final
order by {{ stored_together('segment_key') }}
