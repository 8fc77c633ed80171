-- One row per manager and month: employees reporting directly to the manager on the month's
-- last day (external workers are not reports), in the manager's own segment that day, and the
-- span band for the distribution.
with

coverage as (

    select * from {{ ref('int_workforce_pieces_split') }}
    where piece_kind = 'coverage'
        and sub_to = month_end_date

),

reports as (

    select
        manager_employee_key,
        month_start_date,
        count(distinct employee_key) as direct_reports
    from coverage
    where manager_employee_key is not null
    group by manager_employee_key, month_start_date

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
    left join coverage as managers
        on reports.manager_employee_key = managers.employee_key
        and reports.month_start_date = managers.month_start_date

)

select * from final
