{#- The SQL of the unique_combination test (tests/generic/unique_combination.sql), per adapter. -#}
{% macro _unique_combination_parts(chunk_by, column_prefix='') -%}
    {%- set parts = [] -%}
    {%- if chunk_by -%}
        {%- set column = column_prefix ~ chunk_by -%}
        {%- set characters = '0123456789abcdef' | list -%}
        {%- for character in characters -%}
            {%- do parts.append("substr(" ~ column ~ ", 1, 1) = '" ~ character ~ "'") -%}
        {%- endfor -%}
        {%- do parts.append(
            column ~ " is null or substr(" ~ column ~ ", 1, 1) not in ('"
            ~ characters | join("', '") ~ "')"
        ) -%}
    {%- else -%}
        {%- do parts.append("1 = 1") -%}
    {%- endif -%}
    {{ return(parts) }}
{%- endmacro %}

{% macro default__test_unique_combination(model, combination, chunk_by, hash_first=none) %}

{%- set columns = combination | join(', ') -%}
{% for part in _unique_combination_parts(chunk_by) %}
select
    {{ columns }},
    count(*) as occurrences
from {{ model }}
where {{ part }}
group by {{ columns }}
having count(*) > 1
{% if not loop.last %}union all{% endif %}
{% endfor %}

{% endmacro %}

{#- On DuckDB the key is grouped as one 64-bit hash first, and only the rows whose hash occurs
    twice are grouped by their real columns: a hash collision is then told from a duplicate, so
    the test finds exactly what the plain group by finds. A hash groups far cheaper than text
    keys, and when no hash repeats the join has nothing to build on and DuckDB skips reading the
    rows again. That holds for a table, not for a view that aggregates (the view runs again for
    the join), so `hash_first` defaults to whether the model is a table; the segment calendar, a
    view of plain scans, sets it. At 100,000 employees the grain tests took 59 s instead of 39 s
    (the calendar's 17.1 s -> 5.9 s, fct_workforce_monthly's 11.1 s -> 2.8 s). -#}
{% macro duckdb__test_unique_combination(model, combination, chunk_by, hash_first=none) %}

{%- if hash_first is none and execute -%}
    {%- set relation = adapter.get_relation(
        database=model.database, schema=model.schema, identifier=model.identifier) -%}
    {%- set hash_first = relation is not none and relation.type == 'table' -%}
{%- endif -%}
{%- if not hash_first -%}
    {{ return(default__test_unique_combination(model, combination, chunk_by)) }}
{%- endif -%}
{%- set columns = combination | join(', ') -%}
{%- set row_columns = [] -%}
{%- for column in combination -%}
    {%- do row_columns.append('key_rows.' ~ column) -%}
{%- endfor -%}
{%- set parts = _unique_combination_parts(chunk_by) -%}
{%- set row_parts = _unique_combination_parts(chunk_by, 'key_rows.') -%}
{% for part in parts %}
select
    {{ row_columns | join(', ') }},
    count(*) as occurrences
from (
    select hash({{ columns }}) as key_hash
    from {{ model }}
    where {{ part }}
    group by key_hash
    having count(*) > 1
) as repeated_hashes
inner join {{ model }} as key_rows
    on hash({{ row_columns | join(', ') }}) = repeated_hashes.key_hash
where {{ row_parts[loop.index0] }}
group by {{ row_columns | join(', ') }}
having count(*) > 1
{% if not loop.last %}union all{% endif %}
{% endfor %}

{% endmacro %}
