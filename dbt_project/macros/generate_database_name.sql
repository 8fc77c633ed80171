{#- On DuckDB the published schema (marts) lives in a file of its own, attached as `publishable`
    (profiles.yml), beside the KPI tables and survey results the metrics step writes there: the
    publication is then a copy of that file, not of its rows (metrics/publish.py). Everything
    else, the respondent-level survey_private models among it, stays in the warehouse file. -#}
{% macro generate_database_name(custom_database_name=none, node=none) -%}
    {%- if custom_database_name is not none -%}
        {{ custom_database_name | trim }}
    {%- elif target.type == 'duckdb' and node is not none and node.resource_type == 'model'
        and node.config.get('schema') == 'marts' -%}
        publishable
    {%- else -%}
        {{ target.database }}
    {%- endif -%}
{%- endmacro %}
