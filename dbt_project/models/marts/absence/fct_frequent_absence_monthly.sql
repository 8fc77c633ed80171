-- Frequent-absence signal (KPIS.md): an employee active on a month's last day with 3 or more
-- sick spells starting in the 12 months up to that day. One row per flagged employee and month,
-- in the employee's segment that day. Only people with 3 spells within a year anywhere in their
-- history are expanded, so the model stays small at any scale.
with

spells as (

    select * from {{ ref('fct_sick_spells') }}

),

candidates as (

    select distinct employee_key
    from (
        select
            employee_key,
            spell_start_date,
            lag(spell_start_date, 2) over (
                partition by employee_key order by spell_start_date, absence_id
            ) as second_previous_start_date
        from spells
    ) as sequenced
    where {{ dbt.datediff('second_previous_start_date', 'spell_start_date', 'month') }} <= 12

),

month_ends as (

    select * from {{ ref('int_workforce_pieces_split') }}
    where is_coverage = true
        and sub_to = month_end_date
        and employee_key in (select employee_key from candidates)

),

counted as (

    select
        month_ends.employee_key,
        month_ends.month_start_date,
        month_ends.segment_key,
        count(*) as spells_in_12_months
    from month_ends
    inner join spells
        on month_ends.employee_key = spells.employee_key
        and spells.spell_start_date <= month_ends.month_end_date
        and spells.spell_start_date
        > cast({{ dbt.dateadd('month', -12, 'month_ends.month_end_date') }} as date)
    group by month_ends.employee_key, month_ends.month_start_date, month_ends.segment_key

)

select
    employee_key,
    month_start_date,
    segment_key,
    spells_in_12_months,
    1 as frequent_absentees
from counted
where spells_in_12_months >= 3
