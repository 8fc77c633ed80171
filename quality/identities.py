"""Identities every built warehouse satisfies; the quality gate checks them before publishing
and the tests check them on hand-made and generated data."""

# Per org unit and month: the month-end headcount is last month's, plus hires and transfers in,
# minus leavers and transfers out. Leavers on a month's last day are still counted that day, so
# they leave the count one month later. `residual` is 0 where the identity holds.
HEADCOUNT_FLOW_RESIDUALS = """
with flows as (
    select segments.org_unit_id, facts.month_start_date,
           sum(facts.headcount_at_month_end) as headcount,
           sum(facts.hires + facts.transfers_in - facts.leavers - facts.transfers_out) as change
    from marts.fct_workforce_monthly as facts
    join marts.dim_segments as segments using (segment_key)
    group by all
),
last_day_leavers as (
    select segments.org_unit_id, exits.termination_month_start_date as month_start_date,
           count(*) as leavers
    from marts.fct_exits as exits
    join marts.dim_segments as segments using (segment_key)
    where exits.termination_date = last_day(exits.termination_date)
    group by all
),
units as (select distinct org_unit_id from flows),
months as (select distinct month_start_date from flows),
dense as (
    select units.org_unit_id, months.month_start_date,
           coalesce(flows.headcount, 0) as headcount, coalesce(flows.change, 0) as change,
           coalesce(last_day_leavers.leavers, 0) as last_day_leavers
    from units cross join months
    left join flows using (org_unit_id, month_start_date)
    left join last_day_leavers using (org_unit_id, month_start_date)
),
checked as (
    select *,
           lag(headcount) over w as previous_headcount,
           lag(last_day_leavers) over w as previous_last_day_leavers
    from dense
    window w as (partition by org_unit_id order by month_start_date)
)
select org_unit_id, month_start_date, previous_headcount, change, headcount,
       headcount - (previous_headcount + change + last_day_leavers - previous_last_day_leavers)
           as residual
from checked
where previous_headcount is not null
"""
