-- Data-quality findings in the absence history that the marts leave out and HR should fix: a
-- spell overlapping an earlier spell of the same person and type, and a spell starting outside
-- every employment period of the person.
with

spells as (

    select * from {{ ref('int_sick_spells_linked') }}

)

select
    case
        when employment_period_key is null then 'outside_employment'
        else 'spell_overlap'
    end as finding_type,
    absence_id,
    employee_key,
    absence_type,
    spell_start_date,
    spell_end_date
from spells
where employment_period_key is null
    or overlaps_previous_spell
