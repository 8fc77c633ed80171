{{ config(materialized="table") }}
-- A table, not a view: the reconciliation and the grain test each computed it again from the
-- 13 million pieces at 100,000 employees, for 170,000 rows.
-- HR's side of the reconciliation per contract cost center and month: average FTE (FTE days /
-- days of the month), employees with a contract on the cost center on the month's last day, and
-- salary pro rata (monthly salary x days / days of the month), from the day-exact pieces.
with

pieces as (

    select * from {{ ref('int_workforce_pieces_split') }}

),

contracts as (

    select contract_id, monthly_salary from {{ ref('int_contracts_assigned_to_periods') }}

),

final as (

    select
        pieces.cost_center,
        pieces.month_start_date,
        {{ dbt.datediff('pieces.month_start_date', 'pieces.month_end_date', 'day') }} + 1
            as days_in_month,
        sum(pieces.days * pieces.parttime_factor) as fte_days,
        count(distinct case when pieces.sub_to = pieces.month_end_date then pieces.employee_key end)
            as headcount_at_month_end,
        sum(coalesce(contracts.monthly_salary, 0) * pieces.days) as salary_days
    from pieces
    left join contracts
        on pieces.contract_id = contracts.contract_id
    group by pieces.cost_center, pieces.month_start_date, pieces.month_end_date

)

select
    cost_center,
    month_start_date,
    cast(cast(fte_days as {{ type_double() }}) / days_in_month as {{ type_fte() }}) as hr_average_fte,
    headcount_at_month_end as hr_headcount_at_month_end,
    -- Rounded half up to the cent in a way every engine computes alike: twice the amount in
    -- cents over the days is an integer exactly on a half cent, so floor((2x + 1) / 2) is exact
    -- where a cast of the quotient would round the binary double (DuckDB) or the decimal (Spark).
    cast(floor((salary_days * 200 / days_in_month + 1) / 2) / 100 as decimal(18, 2)) as hr_salary
from final
