-- The FTE reconciliation (KPIS.md) per cost center and month of the payroll periods: HR average
-- FTE vs paid FTE, HR month-end headcount vs paid headcount, HR salary pro rata vs gross salary,
-- absolute and relative differences and a status. A full outer join: a cost center on one side
-- only is a row (missing_in_hr, missing_in_payroll, unmapped_cost_center), never dropped, so the
-- totals tie out to both sources exactly.
with

payroll as (

    select
        cost_center,
        cast({{ dbt.concat(['period', "'-01'"]) }} as date) as month_start_date,
        paid_fte,
        paid_headcount,
        gross_salary_cost
    from {{ ref('stg_finance__payroll_summaries') }}

),

snapshot as (

    select as_of_date from {{ ref('int_hr_snapshots_dated') }}

),

payroll_range as (

    select
        min(payroll.month_start_date) as first_month,
        max(payroll.month_start_date) as last_month
    from payroll

),

hr as (

    select hr.*
    from {{ ref('int_hr_cost_center_months_aggregated') }} as hr
    cross join payroll_range
    cross join snapshot
    where hr.month_start_date between payroll_range.first_month and payroll_range.last_month
        and {{ dbt.last_day('hr.month_start_date', 'month') }} <= snapshot.as_of_date

),

mapped as (

    select * from {{ ref('int_cost_center_months_mapped') }}

),

joined as (

    select
        coalesce(hr.cost_center, payroll.cost_center) as cost_center,
        coalesce(hr.month_start_date, payroll.month_start_date) as month_start_date,
        hr.cost_center is not null as is_in_hr,
        payroll.cost_center is not null as is_in_payroll,
        coalesce(hr.hr_average_fte, 0) as hr_average_fte,
        coalesce(payroll.paid_fte, 0) as payroll_paid_fte,
        coalesce(hr.hr_headcount_at_month_end, 0) as hr_headcount,
        coalesce(payroll.paid_headcount, 0) as payroll_headcount,
        coalesce(hr.hr_salary, 0) as hr_salary,
        coalesce(payroll.gross_salary_cost, 0) as payroll_gross_salary
    from hr
    full outer join payroll
        on hr.cost_center = payroll.cost_center
        and hr.month_start_date = payroll.month_start_date

),

compared as (

    select
        joined.*,
        mapped.org_unit_id,
        mapped.segment_key,
        mapped.is_known_to_finance,
        joined.hr_average_fte - joined.payroll_paid_fte as fte_difference,
        joined.hr_headcount - joined.payroll_headcount as headcount_difference,
        joined.hr_salary - joined.payroll_gross_salary as salary_difference,
        case
            when joined.payroll_paid_fte <> 0
                then cast(joined.hr_average_fte - joined.payroll_paid_fte as {{ type_double() }}) / joined.payroll_paid_fte
        end as fte_difference_relative,
        case
            when joined.payroll_gross_salary <> 0
                then cast(joined.hr_salary - joined.payroll_gross_salary as {{ type_double() }})
                    / joined.payroll_gross_salary
        end as salary_difference_relative
    from joined
    left join mapped
        on joined.cost_center = mapped.cost_center
        and joined.month_start_date = mapped.month_start_date

),

final as (

    select
        compared.*,
        case
            when compared.org_unit_id is null then 'unmapped_cost_center'
            when not compared.is_in_hr then 'missing_in_hr'
            when not compared.is_in_payroll then 'missing_in_payroll'
            when abs(compared.fte_difference) <= {{ var('reconciliation_fte_tolerance') }}
                and abs(compared.fte_difference)
                <= {{ var('reconciliation_fte_tolerance_relative') }} * compared.payroll_paid_fte
                and compared.headcount_difference = 0
                and abs(compared.salary_difference)
                <= {{ var('reconciliation_salary_tolerance_relative') }}
                * compared.payroll_gross_salary
                then 'match'
            else 'mismatch'
        end as reconciliation_status
    from compared

)

select
    final.*,
    case when final.reconciliation_status = 'match' then 0 else 1 end as is_mismatch
from final
