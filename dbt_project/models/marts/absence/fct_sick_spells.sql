-- One row per sick spell inside an employment period: first and last sick day (clipped to the
-- employment and the snapshot day), open or ended, length in calendar days from the first sick
-- day, duration class, and the segment on the first sick day. Pregnancy leave is not a sick
-- spell: it is recorded in fct_absence_monthly and never counts as verzuim.
with

spells as (

    select * from {{ ref('int_sick_spells_linked') }}
    where absence_type = 'sick'
        and employment_period_key is not null

),

coverage as (

    select * from {{ ref('int_workforce_pieces_split') }}
    where is_coverage = true

),

final as (

    select
        spells.absence_id,
        spells.employee_key,
        spells.case_key,
        coverage.segment_key,
        spells.spell_start_date,
        spells.spell_end_date,
        case when spells.is_open then null else spells.spell_end_date end as ended_date,
        spells.is_open,
        spells.duration_days,
        case when spells.is_open then 0 else spells.duration_days end as ended_duration_days,
        case when spells.is_open then 0 else 1 end as is_ended,
        spells.duration_class
    from spells
    inner join coverage
        on spells.employment_period_key = coverage.employment_period_key
        and spells.spell_start_date between coverage.sub_from and coverage.sub_to

)

select * from final
