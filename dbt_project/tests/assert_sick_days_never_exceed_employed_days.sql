-- Identity (issue: absence mart): for every employee and month, calendar sick days never exceed
-- the days employed, and the verzuim numerator never exceeds the FTE days.
with

absence as (

    select
        employee_key,
        month_start_date,
        sum(sick_days + pregnancy_leave_days) as absent_days,
        sum(sick_fte_days) as sick_fte_days
    from {{ ref('fct_absence_monthly') }}
    group by employee_key, month_start_date

),

-- Only the employee-months with absence are summed: a tenth of the workforce facts, and the sum
-- of all of them was two thirds of this test's time and memory.
workforce as (

    select
        facts.employee_key,
        facts.month_start_date,
        sum(facts.employed_days) as employed_days,
        sum(facts.fte_days) as fte_days
    from {{ ref('fct_workforce_monthly') }} as facts
    where exists (
        select 1 from absence
        where absence.employee_key = facts.employee_key
            and absence.month_start_date = facts.month_start_date
    )
    group by facts.employee_key, facts.month_start_date

)

select absence.*, workforce.employed_days, workforce.fte_days
from absence
left join workforce
    on absence.employee_key = workforce.employee_key
    and absence.month_start_date = workforce.month_start_date
where workforce.employee_key is null
    or absence.absent_days > workforce.employed_days
    or absence.sick_fte_days > workforce.fte_days + 0.0001
