{#- The one home of segment keys: a workforce segment is one combination of the attributes
    workforce KPIs slice by; a vacancy segment has only the org unit and job. -#}

{% macro workforce_segment_key() -%}
    {{ dbt.hash(dbt.concat([
        'org_unit_id', "'|'", 'job_code', "'|'", 'cost_center', "'|'", 'contract_type',
        "'|'", "coalesce(manager_employee_key, '-')", "'|'", 'gender', "'|'", 'age_band',
        "'|'", 'tenure_band'])) }}
{%- endmacro %}

{% macro vacancy_segment_key(org_unit_id, job_code) -%}
    {{ dbt.hash(dbt.concat(["'vacancy|'", org_unit_id, "'|'", job_code])) }}
{%- endmacro %}
