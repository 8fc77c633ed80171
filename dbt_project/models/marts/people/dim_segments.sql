-- One row per segment: a combination of the attributes every workforce KPI can be sliced by,
-- with the org unit's ancestors so any KPI rolls up the tree.
with

pieces as (

    select distinct
        segment_key,
        org_unit_id,
        job_code,
        cost_center,
        contract_type,
        manager_employee_key,
        gender,
        age_band,
        tenure_band
    from {{ ref('int_workforce_pieces_split') }}

),

org_units as (

    select * from {{ ref('dim_org_units') }}

),

jobs as (

    select * from {{ ref('dim_jobs') }}

),

final as (

    select
        pieces.segment_key,
        pieces.org_unit_id,
        org_units.org_unit_name,
        {% for level in range(1, var('org_levels') + 1) %}
        org_units.org_level_{{ level }}_id,
        {% endfor %}
        pieces.job_code,
        jobs.job_family,
        jobs.job_level,
        pieces.cost_center,
        pieces.contract_type,
        pieces.manager_employee_key,
        pieces.gender,
        pieces.age_band,
        pieces.tenure_band
    from pieces
    left join org_units
        on pieces.org_unit_id = org_units.org_unit_id
    left join jobs
        on pieces.job_code = jobs.job_code

)

select * from final
