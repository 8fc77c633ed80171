{#- A CTE evaluated once, before what reads it. Without the hint DuckDB may move a CTE's
    expressions above a join that multiplies its rows: int_workforce_pieces_split's segment hash
    was computed once per piece-month instead of once per piece (15 times as often; 15 -> 12 s at
    100,000 employees). PostgreSQL knows the same keyword; Spark has no such hint. -#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch('materialized_cte', 'peoplemart')()) }}
{%- endmacro %}

{% macro default__materialized_cte() -%}
    materialized
{%- endmacro %}

{% macro spark__materialized_cte() -%}
{%- endmacro %}
