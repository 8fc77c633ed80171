-- The HR work list on the snapshot day: for every case still open, Poortwachter milestones
-- overdue and those due in the next 14 days, with the pseudonymised employee, org unit and
-- manager. No medical data.
with

milestones as (

    select * from {{ ref('fct_poortwachter_milestones') }}

),

segments as (

    select * from {{ ref('dim_segments') }}

),

snapshot as (

    select as_of_date from {{ ref('int_hr_snapshots_dated') }}

),

final as (

    select
        milestones.case_key,
        milestones.employee_key,
        segments.org_unit_id,
        segments.manager_employee_key,
        milestones.case_start_date,
        milestones.milestone,
        milestones.due_date,
        case
            when milestones.milestone_status = 'overdue' then 'overdue'
            else 'upcoming'
        end as action,
        case
            when milestones.milestone_status = 'overdue'
                then {{ dbt.datediff('milestones.due_date', 'snapshot.as_of_date', 'day') }}
        end as days_overdue,
        case
            when milestones.milestone_status = 'not_yet_due'
                then {{ dbt.datediff('snapshot.as_of_date', 'milestones.due_date', 'day') }}
        end as days_until_due,
        snapshot.as_of_date
    from milestones
    cross join snapshot
    left join segments
        on milestones.segment_key = segments.segment_key
    where milestones.is_case_open
        and (
            milestones.milestone_status = 'overdue'
            or milestones.milestone_status = 'not_yet_due'
            and milestones.due_date
            <= cast({{ dbt.dateadd('day', 14, 'snapshot.as_of_date') }} as date)
        )

)

select * from final
