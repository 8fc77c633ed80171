{{ config(materialized="table") }}
-- A table, not a view: several marts and tests read it, and a view would be computed again for
-- each of them.
-- One row per spell (absence_id) with its clipped first and last day, whether it is still open,
-- and, for sick spells, the Poortwachter case it belongs to: spells with an interruption of
-- less than 28 days (art. 7:629 lid 10 BW) add up to one case, whose sick days count on over
-- the spells and not over the gaps.
with

segments as (

    select * from {{ ref('int_absence_segments_clipped') }}
    where segment_to >= segment_from

),

spells as (

    select
        absence_id,
        min(employee_key) as employee_key,
        min(employment_period_key) as employment_period_key,
        min(absence_type) as absence_type,
        min(segment_from) as spell_start_date,
        max(segment_to) as spell_end_date,
        max(case when is_open then 1 else 0 end) = 1 as is_open
    from segments
    group by absence_id

),

measured as (

    select
        spells.*,
        {{ dbt.datediff('spell_start_date', 'spell_end_date', 'day') }} + 1 as duration_days
    from spells

),

sequenced as (

    select
        measured.*,
        lag(spell_end_date) over (
            partition by employee_key, absence_type order by spell_start_date, absence_id
        ) as previous_spell_end_date
    from measured

),

cases_started as (

    select
        sequenced.*,
        case
            when absence_type = 'sick'
                and previous_spell_end_date is not null
                and {{ dbt.datediff('previous_spell_end_date', 'spell_start_date', 'day') }} - 1
                < 28
                then 0
            else 1
        end as starts_case
    from sequenced

),

numbered as (

    select
        cases_started.*,
        sum(starts_case) over (
            partition by employee_key, absence_type
            order by spell_start_date, absence_id
            rows between unbounded preceding and current row
        ) as case_number
    from cases_started

),

final as (

    select
        numbered.absence_id,
        numbered.employee_key,
        numbered.employment_period_key,
        numbered.absence_type,
        numbered.spell_start_date,
        numbered.spell_end_date,
        numbered.is_open,
        numbered.duration_days,
        case
            when numbered.duration_days <= 14 then 'short'
            when numbered.duration_days <= 91 then 'medium'
            when numbered.duration_days <= 365 then 'long'
            else 'extra_long'
        end as duration_class,
        numbered.previous_spell_end_date is not null
            and numbered.spell_start_date <= numbered.previous_spell_end_date
            as overlaps_previous_spell,
        {{ dbt.hash(dbt.concat([
            'numbered.employee_key', "'|'", 'numbered.absence_type', "'|'",
            "cast(numbered.case_number as " ~ dbt.type_string() ~ ")"])) }} as case_key,
        cast(coalesce(sum(numbered.duration_days) over (
            partition by numbered.employee_key, numbered.absence_type, numbered.case_number
            order by numbered.spell_start_date, numbered.absence_id
            rows between unbounded preceding and 1 preceding
        ), 0) as {{ dbt.type_bigint() }}) as case_sick_days_before
    from numbered

)

select * from final
