-- One row per manager and month: employees reporting directly to the manager on the month's
-- last day (external workers are not reports), in the manager's own segment that day, and the
-- span band for the distribution.
-- The pieces are read once per use, not through one shared CTE: DuckDB materialises a CTE used
-- twice: every column of 12 million month-end pieces at 100,000 employees, a third of its time.
with

reports as (

    select
        manager_employee_key,
        month_start_date,
        count(distinct employee_key) as direct_reports
    from {{ ref('int_workforce_pieces_split') }}
    where is_coverage = true
        and sub_to = month_end_date
        and manager_employee_key is not null
    group by manager_employee_key, month_start_date

),

managers as (

    select
        employee_key,
        month_start_date,
        segment_key
    from {{ ref('int_workforce_pieces_split') }}
    where is_coverage = true
        and sub_to = month_end_date

),

final as (

    select
        reports.manager_employee_key,
        reports.month_start_date,
        managers.segment_key,
        1 as managers,
        reports.direct_reports,
        case
            when reports.direct_reports <= 3 then '1-3'
            when reports.direct_reports <= 7 then '4-7'
            when reports.direct_reports <= 12 then '8-12'
            when reports.direct_reports <= 20 then '13-20'
            else '21+'
        end as span_band
    from reports
    left join managers
        on reports.manager_employee_key = managers.employee_key
        and reports.month_start_date = managers.month_start_date

)

select * from final
