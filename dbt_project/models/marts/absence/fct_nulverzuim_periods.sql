-- Nulverzuim per calendar month, quarter and year (KPIS.md): employees active on the last day
-- of the period, and how many of them had no sick day in it. One row per period and segment on
-- the last day; only periods that have ended by the snapshot day.
with

-- The sick-period join keys on a whole number per employee, not the 20-character key: at a
-- million employees the join's table of sick periods (30 million rows keyed by text) beside the
-- sum into 169 million segment groups ran out of a 10GB bound three attempts in a row; keyed by
-- number the model builds (184 s, under the same bound). The sum keeps the text segment key:
-- grouping on its number needs a join back whose sides DuckDB misjudges (DECISIONS.md, 2026-12-01).
employee_numbers as (

    select * from {{ ref('int_employees_numbered') }}

),

coverage as (

    select
        employee_numbers.employee_number,
        pieces.segment_key,
        pieces.month_start_date,
        pieces.month_end_date
    from {{ ref('int_workforce_pieces_split') }} as pieces
    inner join employee_numbers
        on pieces.employee_key = employee_numbers.employee_key
    where pieces.is_coverage = true
        and pieces.sub_to = pieces.month_end_date

),

snapshot as (

    select as_of_date from {{ ref('int_hr_snapshots_dated') }}

),

grains as (

    select 'month' as period_grain
    union all
    select 'quarter' as period_grain
    union all
    select 'year' as period_grain

),

sick_months as (

    select distinct
        employee_numbers.employee_number,
        absence.month_start_date
    from {{ ref('fct_absence_monthly') }} as absence
    inner join employee_numbers
        on absence.employee_key = employee_numbers.employee_key
    where absence.sick_days > 0

),

sick_periods as (

    select distinct
        sick_months.employee_number,
        grains.period_grain,
        case grains.period_grain
            when 'month' then sick_months.month_start_date
            when 'quarter'
                then cast({{ dbt.date_trunc('quarter', 'sick_months.month_start_date') }} as date)
            else cast({{ dbt.date_trunc('year', 'sick_months.month_start_date') }} as date)
        end as period_start_date
    from sick_months
    cross join grains

),

active_at_end as (

    select
        coverage.employee_number,
        coverage.segment_key,
        grains.period_grain,
        case grains.period_grain
            when 'month' then coverage.month_start_date
            when 'quarter'
                then cast({{ dbt.date_trunc('quarter', 'coverage.month_start_date') }} as date)
            else cast({{ dbt.date_trunc('year', 'coverage.month_start_date') }} as date)
        end as period_start_date,
        coverage.month_end_date as period_end_date
    from coverage
    cross join grains
    cross join snapshot
    where coverage.month_end_date <= snapshot.as_of_date

),

period_ends as (

    select
        active_at_end.*,
        cast({{ dbt.last_day('active_at_end.period_start_date', 'quarter') }} as date)
            as quarter_end_date,
        cast({{ dbt.last_day('active_at_end.period_start_date', 'year') }} as date)
            as year_end_date
    from active_at_end

),

final as (

    select
        period_ends.period_grain,
        period_ends.period_start_date,
        period_ends.segment_key,
        count(*) as active_at_end,
        count(*) - count(sick_periods.employee_number) as without_sick_day
    from period_ends
    left join sick_periods
        on period_ends.employee_number = sick_periods.employee_number
        and period_ends.period_grain = sick_periods.period_grain
        and period_ends.period_start_date = sick_periods.period_start_date
    where period_ends.period_grain = 'month'
        or period_ends.period_grain = 'quarter'
        and period_ends.period_end_date = period_ends.quarter_end_date
        or period_ends.period_grain = 'year'
        and period_ends.period_end_date = period_ends.year_end_date
    group by period_ends.period_grain, period_ends.period_start_date, period_ends.segment_key

)

-- Each segment's rows stored together: a third of the space in the warehouse, the serving copy
-- and the Parquet export (a tenth there) -- what made a million-employee night fit on the disk.
select * from final
order by {{ stored_together('segment_key') }}
