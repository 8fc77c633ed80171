-- One row per segment and month of the reporting range, dense: the days of each month. The
-- days of any period are (sum of days) / (distinct segments), which MetricFlow can compute for
-- every grouping the workforce facts allow (DESIGN.md, MetricFlow notes).
-- A view: it is every workforce segment times every month (90 million rows at 100,000 employees,
-- ten times that at a million), cheap to compute where MetricFlow reads it, and of no use to a
-- BI tool, so it is neither stored nor published (the KPI tables carry the daily averages).
-- Its grain test computes every row, and counts each segment's months as bits rather than hash
-- every segment-month (macros/repeated_keys.sql).
{{ config(materialized="view") }}

with

segments as (

    select segment_key from {{ ref('dim_segments') }}
    where segment_kind = 'workforce'

),

facts as (

    select
        min(month_start_date) as first_month,
        max(month_start_date) as last_month
    from {{ ref('fct_workforce_monthly') }}

),

months as (

    select distinct
        dates.month_start_date,
        dates.days_in_month
    from {{ ref('dim_dates') }} as dates
    cross join facts
    where dates.month_start_date between facts.first_month and facts.last_month

),

final as (

    select
        segments.segment_key,
        months.month_start_date,
        months.days_in_month
    from segments
    cross join months

)

select * from final
