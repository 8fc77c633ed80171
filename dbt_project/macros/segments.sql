{#- The one home of segment keys: a workforce segment is one combination of the attributes
    workforce KPIs slice by; a vacancy segment has only the org unit and job; a finance segment
    a cost center and the org unit finance maps it to; a formation segment adds a job family. -#}

{% macro workforce_segment_key() -%}
    {{ dbt.hash(dbt.concat([
        'org_unit_id', "'|'", 'job_code', "'|'", 'cost_center', "'|'", 'contract_type',
        "'|'", "coalesce(manager_employee_key, '-')", "'|'", 'gender', "'|'", 'age_band',
        "'|'", 'tenure_band'])) }}
{%- endmacro %}

{% macro vacancy_segment_key(org_unit_id, job_code) -%}
    {{ dbt.hash(dbt.concat(["'vacancy|'", org_unit_id, "'|'", job_code])) }}
{%- endmacro %}

{% macro finance_segment_key(cost_center, org_unit_id) -%}
    {{ dbt.hash(dbt.concat(["'finance|'", cost_center, "'|'", "coalesce(" ~ org_unit_id ~ ", '-')"])) }}
{%- endmacro %}

{% macro formation_segment_key(cost_center, org_unit_id, job_family) -%}
    {{ dbt.hash(dbt.concat(["'formation|'", cost_center, "'|'",
                            "coalesce(" ~ org_unit_id ~ ", '-')", "'|'", job_family])) }}
{%- endmacro %}

{% macro planning_segment_key(job_family, contract_type) -%}
    {{ dbt.hash(dbt.concat(["'planning|'", job_family, "'|'",
                            "coalesce(" ~ contract_type ~ ", '-')"])) }}
{%- endmacro %}

{% macro survey_segment_key(org_unit_id, job_family, tenure_band, age_band, contract_type,
                            manager_employee_key) -%}
    {{ dbt.hash(dbt.concat(["'survey|'", "coalesce(" ~ org_unit_id ~ ", '-')",
        "'|'", "coalesce(" ~ job_family ~ ", '-')", "'|'", "coalesce(" ~ tenure_band ~ ", '-')",
        "'|'", "coalesce(" ~ age_band ~ ", '-')", "'|'", "coalesce(" ~ contract_type ~ ", '-')",
        "'|'", "coalesce(" ~ manager_employee_key ~ ", '-')"])) }}
{%- endmacro %}


{#- One kind of segment as rows of dim_segments: the attributes `provided` come from the model,
    the others are null (a vacancy has no gender). -#}
{% macro segment_columns(kind, relation, provided) -%}
    select distinct
        '{{ kind }}' as segment_kind,
        segment_key,
        {%- for column in ['org_unit_id', 'job_code', 'cost_center', 'contract_type',
                           'manager_employee_key', 'gender', 'age_band', 'tenure_band',
                           'job_family'] %}
        {% if column in provided %}{{ column }}{% else %}cast(null as {{ dbt.type_string() }}){% endif %} as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }}
{%- endmacro %}
