-- Data-quality findings in the HR history that the facts work around and HR should fix: a
-- contract overlapping an earlier one of the same person without being marked concurrent, and
-- a gap between consecutive contracts inside one employment period (days nobody is counted).
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

)

select * from final
