-- One row per vacancy with its outcome (filled internally or externally, cancelled, open) and
-- time to fill in calendar days (filled - opened), sliced like the workforce by a vacancy
-- segment (org unit and job; people attributes do not apply to a vacancy).
with

vacancies as (

    select * from {{ ref('stg_hris__vacancies') }}

),

final as (

    select
        vacancies.vacancy_id,
        {{ vacancy_segment_key('vacancies.org_unit_id', 'vacancies.job_code') }} as segment_key,
        vacancies.org_unit_id,
        vacancies.job_code,
        vacancies.fte,
        vacancies.opened_date,
        vacancies.filled_date,
        vacancies.cancelled_date,
        case
            when vacancies.filled_date is not null then 'filled'
            when vacancies.cancelled_date is not null then 'cancelled'
            else 'open'
        end as vacancy_status,
        case when vacancies.filled_date is not null then 1 else 0 end as is_filled,
        case
            when vacancies.filled_date is not null and vacancies.is_internal_hire then 1 else 0
        end as is_filled_internally,
        case
            when vacancies.filled_date is not null
                then {{ dbt.datediff('vacancies.opened_date', 'vacancies.filled_date', 'day') }}
        end as days_to_fill
    from vacancies

)

select * from final
