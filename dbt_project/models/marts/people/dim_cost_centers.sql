-- One row per cost center known to finance or used on an HR contract, with finance's mapping to
-- an HR org unit. Cost centers on one side only are kept and flagged, not dropped: they are what
-- the FTE reconciliation has to explain.
with

finance as (

    select
        cost_center,
        name as cost_center_name,
        org_unit_id,
        row_number() over (
            partition by cost_center order by valid_from desc nulls last
        ) as recency
    from {{ ref('stg_finance__cost_centers') }}

),

hr as (

    select distinct cost_center
    from {{ ref('int_contracts_assigned_to_periods') }}

),

finance_current as (

    select * from finance
    where recency = 1

),

final as (

    select
        coalesce(finance_current.cost_center, hr.cost_center) as cost_center,
        finance_current.cost_center_name,
        finance_current.org_unit_id as mapped_org_unit_id,
        finance_current.cost_center is not null as is_known_to_finance,
        hr.cost_center is not null as is_used_by_hr,
        finance_current.org_unit_id is not null as is_mapped_to_hr
    from finance_current
    full outer join hr
        on finance_current.cost_center = hr.cost_center

)

select * from final
