-- One row per org unit (its current definition) with its depth and its ancestor at every level,
-- so a KPI grouped by org_level_N_id rolls the tree up to level N. Fixed-depth self-joins instead
-- of a recursive CTE keep the model portable (Spark has no recursive CTE).
{%- set max_depth = var('org_levels') %}
with

units as (

    select * from (
        select
            org_unit_id,
            name as org_unit_name,
            parent_org_unit_id,
            manager_employee_key,
            row_number() over (
                partition by org_unit_id order by valid_from desc nulls last
            ) as recency
        from {{ ref('stg_hris__org_units') }}
    ) as ranked
    where recency = 1

),

ancestry as (

    select
        unit_0.org_unit_id,
        unit_0.org_unit_name,
        unit_0.parent_org_unit_id,
        unit_0.manager_employee_key,
        {% for step in range(max_depth) %}
        unit_{{ step }}.org_unit_id as ancestor_{{ step }}{{ "," if not loop.last }}
        {% endfor %}
    from units as unit_0
    {% for step in range(1, max_depth) %}
    left join units as unit_{{ step }}
        on unit_{{ step - 1 }}.parent_org_unit_id = unit_{{ step }}.org_unit_id
    {% endfor %}

),

depths as (

    select
        ancestry.*,
        {% for step in range(max_depth) %}
        case when ancestor_{{ step }} is not null then 1 else 0 end
        {{ "+" if not loop.last }}
        {% endfor %} as org_level
    from ancestry

),

final as (

    select
        org_unit_id,
        org_unit_name,
        parent_org_unit_id,
        manager_employee_key,
        org_level,
        {% for level in range(1, max_depth + 1) %}
        case
            {% for depth in range(level, max_depth + 1) %}
            when org_level = {{ depth }} then ancestor_{{ depth - level }}
            {% endfor %}
        end as org_level_{{ level }}_id{{ "," if not loop.last }}
        {% endfor %}
    from depths

)

select * from final
