{#- An 8-byte float on every adapter: `double` is DuckDB's and Spark's name, PostgreSQL knows only
    `double precision` (dbt's type_float() is a 4-byte float on DuckDB). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'peoplemart')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}
