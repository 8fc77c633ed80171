-- One row per segment: a combination of the attributes every workforce KPI can be sliced by,
-- with the org unit's ancestors so any KPI rolls up the tree. Vacancy segments carry only the
-- org unit and job.
with

pieces as (

    select distinct
        'workforce' as segment_kind,
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

vacancy_segments as (

    select distinct
        'vacancy' as segment_kind,
        segment_key,
        org_unit_id,
        job_code,
        cast(null as {{ dbt.type_string() }}) as cost_center,
        cast(null as {{ dbt.type_string() }}) as contract_type,
        cast(null as {{ dbt.type_string() }}) as manager_employee_key,
        cast(null as {{ dbt.type_string() }}) as gender,
        cast(null as {{ dbt.type_string() }}) as age_band,
        cast(null as {{ dbt.type_string() }}) as tenure_band
    from {{ ref('fct_vacancies') }}

),

segments as (

    select * from pieces
    union all
    select * from vacancy_segments

),

org_units as (

    select * from {{ ref('dim_org_units') }}

),

jobs as (

    select * from {{ ref('dim_jobs') }}

),

final as (

    select
        segments.segment_kind,
        segments.segment_key,
        segments.org_unit_id,
        org_units.org_unit_name,
        {% for level in range(1, var('org_levels') + 1) %}
        org_units.org_level_{{ level }}_id,
        {% endfor %}
        segments.job_code,
        jobs.job_family,
        jobs.job_level,
        segments.cost_center,
        segments.contract_type,
        segments.manager_employee_key,
        segments.gender,
        segments.age_band,
        segments.tenure_band
    from segments
    left join org_units
        on segments.org_unit_id = org_units.org_unit_id
    left join jobs
        on segments.job_code = jobs.job_code

)

select * from final
