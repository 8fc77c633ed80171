-- The core KPIs in one hand-written DuckDB query over the newest HR delivery: the lower bound of
-- what this machine can do. It copies the KPI rules (KPIS.md) and the pipeline's conventions
-- independently of the dbt project, so that agreement with the published tables means something:
--   * an employment period runs from a hire to the first termination on or after a contract's
--     start; external contracts are never employment;
--   * facts stop at the snapshot day (the day before the delivery), the contract's end and the
--     end of employment; the history starts on 1 January, {history_years} calendar years back;
--   * an employed day counts once, for the earliest contract covering it (its org unit);
--   * FTE per contract is hours / full-time hours to 4 decimals; concurrent contracts add up;
--   * a leaver counts in the month of the termination, in the org unit of the last day worked;
--   * verzuim: sick segments clipped to the employment period their spell starts in, weighted by
--     incapacity % and the part-time factor of each contract on the day; pregnancy leave is not
--     verzuim.
-- Inputs, bound by bench/baselines.py: views contracts, terminations, absences, org_units.
with recursive

snapshot as (
    select
        cast('{as_of_date}' as date) as as_of_date,
        make_date(year(cast('{as_of_date}' as date)) - {history_years} + 1, 1, 1) as history_start
),

months as (
    select
        cast(month_start as date) as month_start,
        last_day(cast(month_start as date)) as month_end,
        datediff('day', cast(month_start as date), last_day(cast(month_start as date))) + 1
            as days_in_month
    from snapshot,
        generate_series(
            cast(history_start as timestamp), cast(as_of_date as timestamp), interval 1 month
        ) as series(month_start)
),

employment_contracts as (
    select
        contracts.contract_id,
        contracts.employee_id,
        contracts.valid_from,
        contracts.valid_to,
        contracts.org_unit_id,
        coalesce(contracts.is_concurrent, false) as is_concurrent,
        round(cast(contracts.hours_per_week / contracts.fulltime_hours as decimal(12, 6)), 4)
            as parttime_factor,
        period_ends.termination_date as period_end
    from contracts
    asof left join terminations as period_ends
        on contracts.employee_id = period_ends.employee_id
        and period_ends.termination_date >= contracts.valid_from
    where contracts.contract_type <> 'external'
),

dated as (
    select
        employment_contracts.*,
        least(
            coalesce(valid_to, as_of_date), coalesce(period_end, as_of_date), as_of_date
        ) as effective_to
    from employment_contracts, snapshot
),

periods as (
    select
        employee_id,
        period_end,
        min(valid_from) as hire_date,
        case when period_end <= any_value(as_of_date) then period_end end as termination_date
    from dated, snapshot
    group by employee_id, period_end
),

worked as (
    select * from dated where valid_from <= effective_to
),

coverage as (
    select
        *,
        max(effective_to) over (
            partition by employee_id
            order by valid_from, is_concurrent, contract_id
            rows between unbounded preceding and 1 preceding
        ) as covered_until
    from worked
),

coverage_pieces as (
    select
        employee_id,
        period_end,
        org_unit_id,
        case when covered_until >= valid_from then covered_until + 1 else valid_from end
            as piece_from,
        effective_to as piece_to
    from coverage
    where covered_until is null or covered_until < effective_to
),

coverage_monthly as (
    select
        org_unit_id,
        month_start,
        sum(datediff('day', greatest(piece_from, month_start), least(piece_to, month_end)) + 1)
            as employed_days,
        count(*) filter (where piece_to >= month_end) as headcount_end
    from coverage_pieces
    join months on month_start <= piece_to and month_end >= piece_from
    group by all
),

fte_monthly as (
    select
        org_unit_id,
        month_start,
        sum(
            (datediff('day', greatest(valid_from, month_start), least(effective_to, month_end)) + 1)
            * parttime_factor
        ) as fte_days
    from worked
    join months on month_start <= effective_to and month_end >= valid_from
    group by all
),

last_days_worked as (
    select
        periods.termination_date,
        arg_max(coverage_pieces.org_unit_id, coverage_pieces.piece_to) as org_unit_id,
        max(coverage_pieces.piece_to) as last_piece_to
    from periods
    join coverage_pieces using (employee_id, period_end)
    where periods.termination_date is not null
    group by periods.employee_id, periods.period_end, periods.termination_date
),

leavers_monthly as (
    select org_unit_id, date_trunc('month', termination_date) as month_start, count(*) as leavers
    from last_days_worked, snapshot
    where last_piece_to >= history_start
    group by all
),

spells as (
    select absence_id, min(employee_id) as employee_id, min(start_date) as spell_start
    from absences
    group by absence_id
),

spell_periods as (
    select spells.absence_id, periods.period_end, periods.termination_date
    from spells
    cross join snapshot
    join periods
        on spells.employee_id = periods.employee_id
        and spells.spell_start >= periods.hire_date
        and spells.spell_start <= coalesce(periods.termination_date, snapshot.as_of_date)
),

sick_segments as (
    select
        absences.employee_id,
        spell_periods.period_end,
        cast(coalesce(absences.incapacity_pct, 100) as decimal(5, 2)) as incapacity_pct,
        absences.start_date as segment_from,
        least(
            coalesce(absences.end_date, as_of_date),
            coalesce(spell_periods.termination_date, as_of_date),
            as_of_date
        ) as segment_to
    from absences
    cross join snapshot
    join spell_periods using (absence_id)
    where absences.start_date <= as_of_date
        and absences.absence_type = 'sick'
),

sick_monthly as (
    select
        worked.org_unit_id,
        months.month_start,
        sum(
            (datediff(
                'day',
                greatest(segment_from, valid_from, month_start),
                least(segment_to, effective_to, month_end)
            ) + 1) * incapacity_pct * 0.01 * parttime_factor
        ) as sick_fte_days
    from sick_segments
    join worked
        on sick_segments.employee_id = worked.employee_id
        and sick_segments.period_end is not distinct from worked.period_end
        and sick_segments.segment_from <= worked.effective_to
        and sick_segments.segment_to >= worked.valid_from
    join months
        on months.month_start <= least(segment_to, effective_to)
        and months.month_end >= greatest(segment_from, valid_from)
    where sick_segments.segment_to >= sick_segments.segment_from
    group by all
),

units as (
    select org_unit_id, parent_org_unit_id
    from org_units
    qualify row_number() over (partition by org_unit_id order by valid_from desc nulls last) = 1
),

-- Every unit with itself and its ancestors, and each ancestor's depth (the root is level 1).
ancestry(org_unit_id, ancestor_id, parent_id) as (
    select org_unit_id, org_unit_id, parent_org_unit_id from units
    union all
    select ancestry.org_unit_id, units.org_unit_id, units.parent_org_unit_id
    from ancestry join units on ancestry.parent_id = units.org_unit_id
),

levels as (
    select org_unit_id, count(*) as org_level from ancestry group by org_unit_id
),

leaf_figures as (
    select
        org_unit_id,
        month_start,
        coalesce(coverage_monthly.employed_days, 0) as employed_days,
        coalesce(coverage_monthly.headcount_end, 0) as headcount_end,
        coalesce(fte_monthly.fte_days, 0) as fte_days,
        coalesce(leavers_monthly.leavers, 0) as leavers,
        coalesce(sick_monthly.sick_fte_days, 0) as sick_fte_days
    from coverage_monthly
    full join fte_monthly using (org_unit_id, month_start)
    full join leavers_monthly using (org_unit_id, month_start)
    full join sick_monthly using (org_unit_id, month_start)
),

rolled_up as (
    select
        'org_level_' || levels.org_level as dimension,
        ancestry.ancestor_id as member,
        leaf_figures.month_start,
        sum(employed_days) as employed_days,
        sum(headcount_end) as headcount_end,
        sum(fte_days) as fte_days,
        sum(leavers) as leavers,
        sum(sick_fte_days) as sick_fte_days
    from leaf_figures
    join ancestry using (org_unit_id)
    join levels on ancestry.ancestor_id = levels.org_unit_id
    group by all
    union all
    select
        'total', null, month_start,
        sum(employed_days), sum(headcount_end), sum(fte_days), sum(leavers), sum(sick_fte_days)
    from leaf_figures
    group by all
),

figures as (
    select
        dimension,
        member,
        month_start,
        cast(headcount_end as double) as headcount,
        employed_days / days_in_month as average_headcount,
        fte_days / days_in_month as average_fte,
        cast(leavers as double) as leavers,
        leavers * 100.0 / nullif(employed_days / days_in_month, 0) as turnover_rate,
        sick_fte_days * 100.0 / nullif(fte_days, 0) as verzuim_pct
    from rolled_up
    join months using (month_start)
)

select figures.dimension, figures.member, figures.month_start, metric, value
from figures
cross join lateral (
    values
        ('headcount', headcount),
        ('average_headcount', average_headcount),
        ('average_fte', average_fte),
        ('leavers', leavers),
        ('turnover_rate', turnover_rate),
        ('verzuim_pct', verzuim_pct)
) as measured(metric, value)
where value is not null
