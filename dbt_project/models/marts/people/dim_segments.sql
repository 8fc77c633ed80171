-- One row per segment: a combination of the attributes every workforce KPI can be sliced by,
-- with the org unit's ancestors so any KPI rolls up the tree. Vacancy segments carry only the
-- org unit and job, finance segments a cost center and its mapped org unit, formation segments
-- those and a job family, planning segments a job family (and contract type), survey segments
-- the org unit answered for and, in confidential waves, the respondent's HR attributes.
with

segments as (

    {{ segment_columns('workforce', ref('int_workforce_pieces_split'), [
        'org_unit_id', 'job_code', 'cost_center', 'contract_type', 'manager_employee_key',
        'gender', 'age_band', 'tenure_band']) }}
    union
    {{ segment_columns('vacancy', ref('fct_vacancies'), [
        'org_unit_id', 'job_code']) }}
    union
    {{ segment_columns('finance', ref('int_cost_center_months_mapped'), [
        'org_unit_id', 'cost_center']) }}
    union
    {{ segment_columns('formation', ref('fct_formation_yearly'), [
        'org_unit_id', 'cost_center', 'job_family']) }}
    union
    {{ segment_columns('planning', ref('fct_spp_workforce_mix'), [
        'contract_type', 'job_family']) }}
    union
    {{ segment_columns('planning', ref('fct_spp_supply_projection'), [
        'job_family']) }}
    union
    {{ segment_columns('survey', ref('fct_survey_respondents'), [
        'org_unit_id', 'contract_type', 'manager_employee_key', 'age_band', 'tenure_band',
        'job_family']) }}
    union
    {{ segment_columns('survey', ref('fct_survey_invitations'), [
        'org_unit_id']) }}

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
        coalesce(jobs.job_family, segments.job_family) as job_family,
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
