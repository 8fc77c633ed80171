{{ config(materialized="table") }}
-- A table, not a view: several marts and tests read it, and a view would be computed again for
-- each of them.
-- Absence segments (one incapacity percentage each) clipped to the employment period the spell
-- starts in and to the snapshot day: sick leave after the last day employed is not the
-- employer's verzuim, and days after the snapshot have not happened yet. Segments whose spell
-- starts outside any employment period are kept with a null period (reported as findings).
with

segments as (

    select * from {{ ref('stg_hris__absences') }}

),

periods as (

    select * from {{ ref('int_employment_periods_derived') }}

),

snapshot as (

    select as_of_date from {{ ref('int_hr_snapshots_dated') }}

),

spell_starts as (

    select
        absence_id,
        min(employee_key) as employee_key,
        min(start_date) as spell_start_date
    from segments
    group by absence_id

),

spell_periods as (

    select
        spell_starts.absence_id,
        periods.employment_period_key,
        periods.termination_date
    from spell_starts
    cross join snapshot
    inner join periods
        on spell_starts.employee_key = periods.employee_key
        and spell_starts.spell_start_date >= periods.hire_date
        and spell_starts.spell_start_date
            <= coalesce(periods.termination_date, snapshot.as_of_date)

),

final as (

    select
        segments.absence_id,
        segments.employee_key,
        spell_periods.employment_period_key,
        segments.absence_type,
        coalesce(segments.incapacity_pct, 100) as incapacity_pct,
        segments.start_date as segment_from,
        least(
            coalesce(segments.end_date, snapshot.as_of_date),
            coalesce(spell_periods.termination_date, snapshot.as_of_date),
            snapshot.as_of_date
        ) as segment_to,
        -- Still sick on the snapshot day and still employed: the length so far is not final.
        (segments.end_date is null or segments.end_date > snapshot.as_of_date)
            and spell_periods.termination_date is null
            as is_open
    from segments
    cross join snapshot
    left join spell_periods
        on segments.absence_id = spell_periods.absence_id
    where segments.start_date <= snapshot.as_of_date

)

select * from final
