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

{#- FTE and FTE-days: six decimals (a part-time factor has four), eighteen digits, so every
    adapter stores it in 64 bits. dbt's type_numeric() is decimal(28, 6), a 128-bit integer to
    DuckDB and a fixed-length byte array to Parquet: at 100,000 employees writing the workforce
    fact took 0.5 s more (of 4.4 s), in the build, the serving copy and the export alike. A
    month's FTE-days of one employee are below 10^3; a cost center's average FTE below 10^7. -#}
{% macro type_fte() -%}
    decimal(18, 6)
{%- endmacro %}
