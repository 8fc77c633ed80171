-- Formation vs occupation (formatie vs bezetting) per year, cost center and job family: the
-- approved budget FTE against the actual average FTE of the year (FTE days / days of the year
-- up to the snapshot day, HR contracts on that cost center and job family). Either side may be
-- missing: kept as zero.
with

budgets as (

    select * from {{ ref('stg_finance__formation_budgets') }}

),

pieces as (

    select * from {{ ref('int_workforce_pieces_split') }}

),

jobs as (

    select * from {{ ref('dim_jobs') }}

),

budget_years as (

    select distinct
        cast({{ dbt.concat(["cast(year as " ~ dbt.type_string() ~ ")", "'-01-01'"]) }} as date)
            as year_start_date
    from budgets

),

occupation as (

    select
        pieces.cost_center,
        jobs.job_family,
        cast({{ dbt.date_trunc('year', 'pieces.month_start_date') }} as date) as year_start_date,
        sum(pieces.days * pieces.parttime_factor) as fte_days
    from pieces
    inner join jobs
        on pieces.job_code = jobs.job_code
    group by 1, 2, 3

),

snapshot as (

    select as_of_date from {{ ref('int_hr_snapshots_dated') }}

),

-- A year still running is averaged over its days up to the snapshot day.
occupation_in_budget_years as (

    select
        occupation.cost_center,
        occupation.job_family,
        occupation.year_start_date,
        cast(occupation.fte_days as {{ type_double() }}) / (
            {{ dbt.datediff('occupation.year_start_date', 'year_ends.last_day_counted', 'day') }}
            + 1
        ) as actual_average_fte
    from occupation
    inner join budget_years
        on occupation.year_start_date = budget_years.year_start_date
    inner join (
        select
            budget_years.year_start_date,
            case
                when snapshot.as_of_date
                    < cast({{ dbt.last_day('budget_years.year_start_date', 'year') }} as date)
                    then snapshot.as_of_date
                else cast({{ dbt.last_day('budget_years.year_start_date', 'year') }} as date)
            end as last_day_counted
        from budget_years
        cross join snapshot
    ) as year_ends
        on occupation.year_start_date = year_ends.year_start_date

),

budget_by_year as (

    select
        cost_center,
        job_family,
        cast({{ dbt.concat(["cast(year as " ~ dbt.type_string() ~ ")", "'-01-01'"]) }} as date)
            as year_start_date,
        sum(budget_fte) as budget_fte
    from budgets
    group by 1, 2, 3

),

mapped as (

    select * from {{ ref('int_cost_center_months_mapped') }}

),

joined as (

    select
        coalesce(budget_by_year.cost_center, occupation_in_budget_years.cost_center)
            as cost_center,
        coalesce(budget_by_year.job_family, occupation_in_budget_years.job_family) as job_family,
        coalesce(budget_by_year.year_start_date, occupation_in_budget_years.year_start_date)
            as year_start_date,
        coalesce(budget_by_year.budget_fte, 0) as budget_fte,
        coalesce(occupation_in_budget_years.actual_average_fte, 0) as actual_average_fte
    from budget_by_year
    full outer join occupation_in_budget_years
        on budget_by_year.cost_center = occupation_in_budget_years.cost_center
        and budget_by_year.job_family = occupation_in_budget_years.job_family
        and budget_by_year.year_start_date = occupation_in_budget_years.year_start_date

),

-- The org unit finance maps the cost center to at the end of the year (or its last mapped month).
year_mapping as (

    select
        cost_center,
        cast({{ dbt.date_trunc('year', 'month_start_date') }} as date) as year_start_date,
        max(org_unit_id) as org_unit_id
    from mapped
    group by 1, 2

)

select
    joined.*,
    year_mapping.org_unit_id,
    {{ formation_segment_key('joined.cost_center', 'year_mapping.org_unit_id',
                             'joined.job_family') }} as segment_key
from joined
left join year_mapping
    on joined.cost_center = year_mapping.cost_center
    and joined.year_start_date = year_mapping.year_start_date
