-- Data-quality findings in the HR history that the facts work around and HR should fix: a
-- contract overlapping an earlier one of the same person without being marked concurrent, a
-- gap between consecutive contracts inside one employment period (days nobody is counted), and
-- a contract naming a manager who holds no contract on some of its days (gone, not yet hired,
-- or unknown to the HR system: the manager field was not updated). Span of control still counts
-- the manager a contract names, the only one the data gives: these findings show HR where that
-- figure rests on a stale name.
with

contracts as (

    select * from {{ ref('int_contracts_assigned_to_periods') }}
    where not is_external
        and not is_concurrent

),

sequenced as (

    select
        contract_id,
        employee_key,
        employment_period_key,
        valid_from,
        effective_to,
        lag(contract_id) over (
            partition by employee_key order by valid_from, contract_id
        ) as previous_contract_id,
        lag(effective_to) over (
            partition by employee_key order by valid_from, contract_id
        ) as previous_effective_to,
        lag(employment_period_key) over (
            partition by employee_key order by valid_from, contract_id
        ) as previous_employment_period_key
    from contracts

),

reports as (

    select
        contract_id,
        employee_key,
        employment_period_key,
        manager_employee_key,
        valid_from,
        effective_to
    from {{ ref('int_contracts_assigned_to_periods') }}
    where not is_external
        and manager_employee_key is not null
        and valid_from <= effective_to

),

-- Every contract of the people named as a manager, external ones too (an interim manager).
manager_contracts as (

    select
        employee_key,
        valid_from,
        effective_to,
        max(effective_to) over (
            partition by employee_key order by valid_from, effective_to
            rows between unbounded preceding and 1 preceding
        ) as covered_until
    from {{ ref('int_contracts_assigned_to_periods') }}
    where valid_from <= effective_to
        and employee_key in (select manager_employee_key from reports)

),

-- The stretches of days a manager holds a contract: a new stretch starts where no earlier
-- contract reaches the day before.
manager_stretches as (

    select
        employee_key,
        min(valid_from) as present_from,
        max(effective_to) as present_to
    from (
        select
            employee_key,
            valid_from,
            effective_to,
            sum(case
                when covered_until is null then 1
                when {{ dbt.datediff('covered_until', 'valid_from', 'day') }} > 1 then 1
                else 0
            end) over (
                partition by employee_key order by valid_from, effective_to
                rows between unbounded preceding and current row
            ) as stretch
        from manager_contracts
    ) as numbered
    group by employee_key, stretch

),

-- The days between a manager's stretches, before the first and after the last (null: no
-- bound); a manager with no contract at all is absent on every day.
manager_absences as (

    select
        employee_key,
        cast({{ dbt.dateadd('day', 1,
            'lag(present_to) over (partition by employee_key order by present_from)') }} as date)
            as absent_from,
        cast({{ dbt.dateadd('day', -1, 'present_from') }} as date) as absent_to
    from manager_stretches
    union all
    select
        employee_key,
        cast({{ dbt.dateadd('day', 1, 'max(present_to)') }} as date) as absent_from,
        cast(null as date) as absent_to
    from manager_stretches
    group by employee_key
    union all
    select distinct
        manager_employee_key as employee_key,
        cast(null as date) as absent_from,
        cast(null as date) as absent_to
    from reports
    where manager_employee_key not in (select employee_key from manager_stretches)

),

stale_managers as (

    select
        reports.employee_key,
        reports.employment_period_key,
        reports.contract_id,
        case
            when manager_absences.absent_from > reports.valid_from
                then manager_absences.absent_from
            else reports.valid_from
        end as finding_from,
        case
            when manager_absences.absent_to < reports.effective_to
                then manager_absences.absent_to
            else reports.effective_to
        end as finding_to
    from reports
    inner join manager_absences
        on reports.manager_employee_key = manager_absences.employee_key
    where coalesce(manager_absences.absent_from, reports.valid_from) <= reports.effective_to
        and coalesce(manager_absences.absent_to, reports.effective_to) >= reports.valid_from

),

final as (

    select
        'contract_overlap' as finding_type,
        employee_key,
        employment_period_key,
        contract_id,
        previous_contract_id,
        valid_from as finding_from,
        previous_effective_to as finding_to,
        {{ dbt.datediff('valid_from', 'previous_effective_to', 'day') }} + 1 as days
    from sequenced
    where previous_effective_to >= valid_from
    union all
    select
        'contract_gap' as finding_type,
        employee_key,
        employment_period_key,
        contract_id,
        previous_contract_id,
        cast({{ dbt.dateadd('day', 1, 'previous_effective_to') }} as date) as finding_from,
        cast({{ dbt.dateadd('day', -1, 'valid_from') }} as date) as finding_to,
        {{ dbt.datediff('previous_effective_to', 'valid_from', 'day') }} - 1 as days
    from sequenced
    where previous_employment_period_key = employment_period_key
        and {{ dbt.datediff('previous_effective_to', 'valid_from', 'day') }} > 1
    union all
    select
        'manager_not_employed' as finding_type,
        employee_key,
        employment_period_key,
        contract_id,
        cast(null as {{ dbt.type_string() }}) as previous_contract_id,
        finding_from,
        finding_to,
        {{ dbt.datediff('finding_from', 'finding_to', 'day') }} + 1 as days
    from stale_managers

)

select * from final
