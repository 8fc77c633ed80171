-- One row per cost center and month of the finance periods: the HR org unit finance maps the
-- cost center to on the month's last day (a mapping can change over time), and the key of the
-- finance segment through which finance figures slice like the workforce.
with

months as (

    select distinct
        cast({{ dbt.concat(['period', "'-01'"]) }} as date) as month_start_date
    from {{ ref('stg_finance__gl_entries') }}
    union
    select distinct
        cast({{ dbt.concat(['period', "'-01'"]) }} as date) as month_start_date
    from {{ ref('stg_finance__payroll_summaries') }}

),

cost_centers as (

    select cost_center from {{ ref('stg_finance__gl_entries') }}
    union
    select cost_center from {{ ref('stg_finance__payroll_summaries') }}
    union
    select cost_center from {{ ref('stg_finance__cost_centers') }}
    union
    select cost_center from {{ ref('stg_finance__formation_budgets') }}
    union
    select cost_center from {{ ref('int_contracts_assigned_to_periods') }}

),

mappings as (

    select * from {{ ref('stg_finance__cost_centers') }}

),

month_ends as (

    select
        cost_centers.cost_center,
        months.month_start_date,
        cast({{ dbt.last_day('months.month_start_date', 'month') }} as date) as month_end_date
    from cost_centers
    cross join months

),

mapped as (

    select
        month_ends.cost_center,
        month_ends.month_start_date,
        month_ends.month_end_date,
        max(mappings.org_unit_id) as org_unit_id,
        count(mappings.cost_center) > 0 as is_known_to_finance
    from month_ends
    left join mappings
        on month_ends.cost_center = mappings.cost_center
        and coalesce(mappings.valid_from, month_ends.month_end_date) <= month_ends.month_end_date
        and coalesce(mappings.valid_to, month_ends.month_end_date) >= month_ends.month_end_date
    group by month_ends.cost_center, month_ends.month_start_date, month_ends.month_end_date

)

select
    mapped.*,
    {{ finance_segment_key('mapped.cost_center', 'mapped.org_unit_id') }} as segment_key
from mapped
