-- Demand and the gap (KPIS.md, SPP) per scenario, projection year and job family: demand from
-- the planning scenarios (fallback when none were delivered: the newest formation as scenario
-- `formation`, flat over the years), projected supply, gap = demand - projected supply, and the
-- hires needed in the year if the earlier gaps were closed (the growth of the gap).
with

projection as (

    select * from {{ ref('fct_spp_supply_projection') }}

),

scenarios as (

    select scenario, year, job_family, demand_fte
    from {{ ref('stg_planning__demand_scenarios') }}

),

formation as (

    select job_family, sum(budget_fte) as budget_fte
    from {{ ref('stg_finance__formation_budgets') }}
    where year = (select max(year) from {{ ref('stg_finance__formation_budgets') }})
    group by job_family

),

demand as (

    select
        scenario,
        cast({{ dbt.concat(["cast(year as " ~ dbt.type_string() ~ ")", "'-01-01'"]) }} as date)
            as projection_year_start_date,
        job_family,
        sum(demand_fte) as demand_fte
    from scenarios
    group by 1, 2, 3
    union all
    select
        'formation' as scenario,
        projection.projection_year_start_date,
        formation.job_family,
        formation.budget_fte as demand_fte
    from formation
    inner join projection
        on formation.job_family = projection.job_family
    where not exists (select 1 from scenarios)

),

joined as (

    select
        coalesce(demand.scenario, scenario_names.scenario) as scenario,
        projection.projection_year_start_date,
        projection.years_ahead,
        projection.job_family,
        projection.segment_key,
        coalesce(demand.demand_fte, 0) as demand_fte,
        demand.demand_fte is null as is_demand_missing,
        projection.projected_supply_fte
    from projection
    cross join (select distinct scenario from demand) as scenario_names
    left join demand
        on projection.job_family = demand.job_family
        and projection.projection_year_start_date = demand.projection_year_start_date
        and scenario_names.scenario = demand.scenario

),

final as (

    select
        joined.*,
        joined.demand_fte - joined.projected_supply_fte as gap_fte
    from joined

)

select
    final.*,
    final.gap_fte - coalesce(lag(final.gap_fte) over (
        partition by final.scenario, final.job_family order by final.projection_year_start_date
    ), 0) as hires_needed_fte
from final
