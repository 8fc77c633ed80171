-- Projected supply (KPIS.md, SPP) per job family at the end of each of the next 5 calendar years
-- after the as-of date, if nothing is done: FTE_y = FTE_y-1 - FTE of the people reaching their
-- AOW date in year y - FTE_y-1 x annual attrition rate (the same for headcount). The attrition
-- rate per family = (non-retirement leavers in the 36 months before the as-of date / 3) /
-- average headcount over those months; families with fewer than `spp_min_family_size` people
-- on the as-of date use the organisation's rate. The rates used are stored next to the numbers.
-- The projection is a recurrence over 5 years, written out year by year (portable SQL); supply
-- never falls below zero.
with

snapshot as (

    select as_of_date from {{ ref('int_hr_snapshots_dated') }}

),

-- Job family per workforce segment, from the pieces (dim_segments also lists planning segments,
-- which are built from this model).
segments as (

    select distinct
        pieces.segment_key,
        jobs.job_family
    from {{ ref('int_workforce_pieces_split') }} as pieces
    inner join {{ ref('dim_jobs') }} as jobs
        on pieces.job_code = jobs.job_code

),

supply as (

    select
        segments.job_family,
        sum(supply.headcount) as headcount,
        sum(supply.fte) as fte
    from {{ ref('fct_spp_supply_today') }} as supply
    inner join segments
        on supply.segment_key = segments.segment_key
    group by segments.job_family

),

window_bounds as (

    select
        cast({{ dbt.dateadd('month', -36, dbt.dateadd('day', 1, 'as_of_date')) }} as date)
            as window_start_date,
        as_of_date as window_end_date
    from snapshot

),

exposure as (

    select
        segments.job_family,
        sum(facts.employed_days) as employed_days
    from {{ ref('fct_workforce_monthly') }} as facts
    inner join segments
        on facts.segment_key = segments.segment_key
    cross join window_bounds
    where facts.month_start_date >= window_bounds.window_start_date
        and facts.month_start_date <= window_bounds.window_end_date
    group by segments.job_family

),

window_days as (

    select
        {{ dbt.datediff('window_start_date', 'window_end_date', 'day') }} + 1 as days
    from window_bounds

),

leavers as (

    select
        segments.job_family,
        count(*) as leavers
    from {{ ref('fct_exits') }} as exits
    inner join segments
        on exits.segment_key = segments.segment_key
    cross join window_bounds
    where exits.termination_date between window_bounds.window_start_date
        and window_bounds.window_end_date
        and coalesce(exits.reason_code, '-') <> 'retirement'
    group by segments.job_family

),

family_rates as (

    select
        supply.job_family,
        supply.headcount,
        supply.fte,
        coalesce(leavers.leavers, 0) as leavers_36_months,
        cast(exposure.employed_days as {{ type_double() }}) / window_days.days as average_headcount_36_months
    from supply
    cross join window_days
    left join exposure
        on supply.job_family = exposure.job_family
    left join leavers
        on supply.job_family = leavers.job_family

),

organisation_rate as (

    select
        cast(sum(leavers_36_months) as {{ type_double() }}) / 3 / nullif(sum(average_headcount_36_months), 0) as rate
    from family_rates

),

rates as (

    select
        family_rates.*,
        family_rates.headcount < {{ var('spp_min_family_size') }} as uses_organisation_rate,
        case
            when family_rates.headcount < {{ var('spp_min_family_size') }}
                then organisation_rate.rate
            else cast(family_rates.leavers_36_months as {{ type_double() }}) / 3
                / nullif(family_rates.average_headcount_36_months, 0)
        end as measured_attrition_rate
    from family_rates
    cross join organisation_rate

),

retirements as (

    select
        segments.job_family,
        -- Retirements between the as-of date and the end of its own year count in year 1.
        case
            when {{ dbt.datediff('snapshot.as_of_date', 'supply.aow_date', 'year') }} < 1 then 1
            else {{ dbt.datediff('snapshot.as_of_date', 'supply.aow_date', 'year') }}
        end as years_ahead,
        cast(sum(supply.headcount) as {{ dbt.type_bigint() }}) as retiring_headcount,
        sum(supply.fte) as retiring_fte,
        max(case when supply.is_aow_date_assumed then 1 else 0 end) as uses_assumed_aow_age
    from {{ ref('fct_spp_supply_today') }} as supply
    inner join segments
        on supply.segment_key = segments.segment_key
    cross join snapshot
    where supply.aow_date > snapshot.as_of_date
    group by 1, 2

),

{% set years = 5 %}
projected as (

    select
        rates.job_family,
        -- More leavers than heads (a young organisation, heavy churn) is everyone leaving:
        -- the projection cannot lose more people than it has.
        case
            when rates.measured_attrition_rate > 1 then 1.0 else rates.measured_attrition_rate
        end as attrition_rate,
        rates.uses_organisation_rate,
        rates.fte as fte_0,
        rates.headcount as headcount_0
        {%- for y in range(1, years + 1) %},
        coalesce(r{{ y }}.retiring_fte, 0) as retiring_fte_{{ y }},
        coalesce(r{{ y }}.retiring_headcount, 0) as retiring_headcount_{{ y }},
        coalesce(r{{ y }}.uses_assumed_aow_age, 0) as uses_assumed_aow_age_{{ y }}
        {%- endfor %}
    from rates
    {% for y in range(1, years + 1) %}
    left join retirements as r{{ y }}
        on rates.job_family = r{{ y }}.job_family
        and r{{ y }}.years_ahead = {{ y }}
    {% endfor %}

),

recurrence as (

    select
        projected.*
        {%- for y in range(1, years + 1) %},
        {% for _ in range(y) %}greatest(0, {% endfor %}fte_0
        {%- for k in range(1, y + 1) %} * (1 - attrition_rate) - retiring_fte_{{ k }}){% endfor %}
            as fte_{{ y }},
        {% for _ in range(y) %}greatest(0, {% endfor %}headcount_0
        {%- for k in range(1, y + 1) %} * (1 - attrition_rate) - retiring_headcount_{{ k }}){% endfor %}
            as headcount_{{ y }}
        {%- endfor %}
    from projected

),

final as (

    {% for y in range(1, years + 1) %}
    select
        recurrence.job_family,
        {{ y }} as years_ahead,
        cast({{ dbt.date_trunc('year', dbt.dateadd('year', y, 'snapshot.as_of_date')) }} as date)
            as projection_year_start_date,
        recurrence.fte_{{ y - 1 }} as starting_fte,
        recurrence.retiring_fte_{{ y }} as retirements_fte,
        recurrence.retiring_headcount_{{ y }} as retirements_headcount,
        recurrence.fte_{{ y - 1 }} * recurrence.attrition_rate as attrition_fte,
        recurrence.fte_{{ y }} as projected_supply_fte,
        recurrence.headcount_{{ y }} as projected_supply_headcount,
        recurrence.attrition_rate,
        recurrence.uses_organisation_rate,
        recurrence.uses_assumed_aow_age_{{ y }} = 1 as uses_assumed_aow_age
    from recurrence
    cross join snapshot
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select
    final.*,
    {{ planning_segment_key('final.job_family', "cast(null as " ~ dbt.type_string() ~ ")") }}
        as segment_key
from final
