{#- The repeated keys of a relation, found cheaply on DuckDB: a select of the key columns and
    `occurrences` for every key on more than one row, exactly what a plain group by having
    count(*) > 1 finds. Written once for both checks of a grain: dbt's unique_combination test
    (macros/unique_combination.sql) and the quality gate's re-check of what is published
    (quality/grain.py renders this file with plain Jinja, so nothing here may use dbt's
    context: no return, do, adapter or ref). `part` and `row_part` restrict the rows read, the
    first as the relation's own columns and the second as key_rows'. -#}

{#- The key is grouped as one 64-bit hash first, and only the rows whose hash occurs twice are
    grouped by their real columns: a hash collision is then told from a duplicate. A hash groups
    far cheaper than text keys, and when no hash repeats the join has nothing to build on and
    DuckDB skips reading the rows again. -#}
{% macro repeated_keys_hash_first(relation, columns, part='1 = 1', row_part='1 = 1') %}
select
    {% for column in columns %}key_rows.{{ column }}, {% endfor %}
    count(*) as occurrences
from (
    select hash({{ columns | join(', ') }}) as key_hash
    from {{ relation }}
    where {{ part }}
    group by key_hash
    having count(*) > 1
) as repeated_hashes
inner join {{ relation }} as key_rows
    on hash({% for column in columns %}key_rows.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}) = repeated_hashes.key_hash
where {{ row_part }}
group by {% for column in columns %}key_rows.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
having count(*) > 1
{% endmacro %}

{#- A key with a month column (first days of months) and many months per value of the other
    columns, such as the segment calendar (every segment x every month): its rows are grouped by
    the other columns and blocks of 64 months, each month one bit of a 64-bit mask. A group holds a
    repeated key exactly when it has more rows than bits set; only such groups are read again and
    grouped by their real columns. The calendar at 100,000 employees: 2.4 million groups instead
    of 94 million keys hashed, 3.2 s and 0.3 GB instead of 16.3 s and 2.7 GB with 0.8 GB spilled
    (DECISIONS.md, 2026-12-03). Months count from the year 1, so a month's bit and block are never
    negative; a null month (no bit: a group of null months has none set, not a null count) or a
    day inside a month only makes the group read again. -#}
{% macro repeated_keys_by_month_bits(relation, columns, month_column, part='1 = 1',
                                     row_part='1 = 1') %}
{%- set others = columns | reject('equalto', month_column) | list -%}
{%- set month_number = "datediff('month', date '0001-01-01', " ~ month_column ~ ")" -%}
{%- set row_month_number = "datediff('month', date '0001-01-01', key_rows." ~ month_column ~ ")" -%}
select
    {% for column in columns %}key_rows.{{ column }}, {% endfor %}
    count(*) as occurrences
from (
    select
        {% for column in others %}{{ column }}, {% endfor %}
        {{ month_number }} // 64 as month_block
    from {{ relation }}
    where {{ part }}
    group by {% for column in others %}{{ column }}, {% endfor %}month_block
    having count(*)
        <> coalesce(bit_count(bit_or(cast(1 as ubigint) << ({{ month_number }} % 64))), 0)
) as repeated_groups
inner join {{ relation }} as key_rows
    on {% for column in others -%}
    key_rows.{{ column }} is not distinct from repeated_groups.{{ column }} and {% endfor -%}
    {{ row_month_number }} // 64 is not distinct from repeated_groups.month_block
where {{ row_part }}
group by {% for column in columns %}key_rows.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
having count(*) > 1
{% endmacro %}

{#- A key with a column of few distinct values (members) and many rows per value of the other
    columns, such as the constructs of each survey respondent: the members are numbered in order
    first (a pass over that one column), then the rows are grouped by a hash of the other columns
    and blocks of 64 members, each member one bit. As with months, a group holds a repeated key
    exactly when it has more rows than bits set, and only the rows whose other columns hash as
    such a group's are read again and grouped by their real columns: a hash collision is told from
    a duplicate. A null member is numbered like any other. At a million employees the survey's 90
    million respondent constructs took 27 s hashed whole (250 s in a night where it spilled), 14 s
    as bits (DECISIONS.md, 2026-12-04, session 34). -#}
{% macro repeated_keys_by_member_bits(relation, columns, member_column, part='1 = 1',
                                      row_part='1 = 1') %}
{%- set others = columns | reject('equalto', member_column) | list -%}
select
    {% for column in columns %}key_rows.{{ column }}, {% endfor %}
    count(*) as occurrences
from (
    {#- distinct: a hash with repeats in two blocks must not read its rows twice -#}
    select distinct hash({{ others | join(', ') }}) as others_hash
    from {{ relation }}
    inner join (
        select
            bit_member,
            row_number() over (order by bit_member) - 1 as bit_member_number
        from (
            select distinct {{ member_column }} as bit_member
            from {{ relation }}
            where {{ part }}
        ) as distinct_members
    ) as numbered_members
        on {{ member_column }} is not distinct from numbered_members.bit_member
    where {{ part }}
    group by others_hash, numbered_members.bit_member_number // 64
    having count(*)
        <> bit_count(bit_or(cast(1 as ubigint) << (numbered_members.bit_member_number % 64)))
) as repeated_hashes
inner join {{ relation }} as key_rows
    on hash({% for column in others %}key_rows.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}) = repeated_hashes.others_hash
where {{ row_part }}
group by {% for column in columns %}key_rows.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
having count(*) > 1
{% endmacro %}
