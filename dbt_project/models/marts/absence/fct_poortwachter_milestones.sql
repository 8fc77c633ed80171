-- The Poortwachter monitor (KPIS.md): for every sick case (spells less than 28 days apart add
-- up) each milestone whose deadline the case reaches, with its due date, completion and status
-- on the snapshot day: on_time, late, overdue (deadline passed, not done), not_yet_due. A case
-- still open is projected forward (still sick); a case that ended before a deadline never
-- reaches it. Dates and milestones only: no medical data.
with

spells as (

    select * from {{ ref('fct_sick_spells') }}

),

linked as (

    select * from {{ ref('int_sick_spells_linked') }}

),

milestone_days as (

    select 'problem_analysis' as milestone, 42 as deadline_sick_day
    union all
    select 'action_plan' as milestone, 56 as deadline_sick_day
    union all
    select 'uwv_notification' as milestone, 294 as deadline_sick_day
    union all
    select 'first_year_evaluation' as milestone, 364 as deadline_sick_day
    union all
    select 'wia_application' as milestone, 651 as deadline_sick_day

),

snapshot as (

    select as_of_date from {{ ref('int_hr_snapshots_dated') }}

),

case_spells as (

    select
        spells.case_key,
        spells.absence_id,
        spells.employee_key,
        spells.spell_start_date,
        spells.duration_days,
        spells.is_open,
        linked.case_sick_days_before
    from spells
    inner join linked
        on spells.absence_id = linked.absence_id

),

cases as (

    select
        case_key,
        min(employee_key) as employee_key,
        min(spell_start_date) as case_start_date,
        max(case when is_open then 1 else 0 end) = 1 as is_case_open
    from case_spells
    group by case_key

),

-- The deadline falls in the spell during which the case reaches that sick day.
due as (

    select
        case_spells.case_key,
        milestone_days.milestone,
        milestone_days.deadline_sick_day,
        cast({{ dbt.dateadd(
            'day',
            '(milestone_days.deadline_sick_day - case_spells.case_sick_days_before - 1)',
            'case_spells.spell_start_date') }} as date) as due_date
    from case_spells
    cross join milestone_days
    where milestone_days.deadline_sick_day > case_spells.case_sick_days_before
        and (
            case_spells.is_open
            or milestone_days.deadline_sick_day
            <= case_spells.case_sick_days_before + case_spells.duration_days
        )

),

completions as (

    select
        case_spells.case_key,
        milestones.milestone,
        min(milestones.completed_date) as completed_date
    from {{ ref('stg_hris__absence_milestones') }} as milestones
    inner join case_spells
        on milestones.absence_id = case_spells.absence_id
    cross join snapshot
    where milestones.completed_date <= snapshot.as_of_date
    group by case_spells.case_key, milestones.milestone

),

case_segments as (

    select
        case_key,
        segment_key,
        row_number() over (partition by case_key order by spell_start_date) as spell_order
    from spells

),

final as (

    select
        due.case_key,
        cases.employee_key,
        case_segments.segment_key,
        cases.case_start_date,
        cases.is_case_open,
        due.milestone,
        due.deadline_sick_day,
        due.due_date,
        completions.completed_date,
        case
            when completions.completed_date <= due.due_date then 'on_time'
            when completions.completed_date is not null then 'late'
            when due.due_date < snapshot.as_of_date then 'overdue'
            else 'not_yet_due'
        end as milestone_status,
        case when due.due_date < snapshot.as_of_date then 1 else 0 end as is_due,
        case when completions.completed_date <= due.due_date then 1 else 0 end as is_on_time,
        case
            when completions.completed_date is null and due.due_date < snapshot.as_of_date
                then 1
            else 0
        end as is_overdue
    from due
    cross join snapshot
    inner join cases
        on due.case_key = cases.case_key
    inner join case_segments
        on due.case_key = case_segments.case_key
        and case_segments.spell_order = 1
    left join completions
        on due.case_key = completions.case_key
        and due.milestone = completions.milestone

)

select * from final
