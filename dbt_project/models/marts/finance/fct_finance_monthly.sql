-- One row per cost center and month: revenue, personnel cost and other cost (sums of the current
-- GL entries by account class; a restated period replaces the earlier one), in the finance
-- segment of the cost center (org unit mapped on the month's last day).
with

entries as (

    select
        cost_center,
        cast({{ dbt.concat(['period', "'-01'"]) }} as date) as month_start_date,
        account_class,
        amount
    from {{ ref('stg_finance__gl_entries') }}

),

mapped as (

    select * from {{ ref('int_cost_center_months_mapped') }}

),

final as (

    select
        entries.cost_center,
        entries.month_start_date,
        mapped.org_unit_id,
        mapped.segment_key,
        sum(case when entries.account_class = 'revenue' then entries.amount else 0 end)
            as revenue,
        sum(case when entries.account_class = 'personnel_cost' then entries.amount else 0 end)
            as personnel_cost,
        sum(case when entries.account_class = 'other_cost' then entries.amount else 0 end)
            as other_cost
    from entries
    inner join mapped
        on entries.cost_center = mapped.cost_center
        and entries.month_start_date = mapped.month_start_date
    group by entries.cost_center, entries.month_start_date, mapped.org_unit_id, mapped.segment_key

)

select * from final
