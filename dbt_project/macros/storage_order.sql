{#- The order a large fact is stored in so that equal values of `column` (a segment key: a
    32-character hash, random to a compressor unless equal keys sit together) are neighbours.
    Sorted so, the segment facts take a third of the space (DECISIONS.md, 2026-12-02). On DuckDB
    the sort compares the key's 64-bit hash, not its text: neighbours just the same, at 100,000
    employees 2-3 s less per model, and a table as small. Other adapters sort on the column. -#}
{% macro stored_together(column) -%}
    {{ return(adapter.dispatch('stored_together', 'peoplemart')(column)) }}
{%- endmacro %}

{% macro default__stored_together(column) -%}
    {{ column }}
{%- endmacro %}

{% macro duckdb__stored_together(column) -%}
    hash({{ column }})
{%- endmacro %}
