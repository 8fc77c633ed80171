{#- Primary key over several columns (dbt_utils' unique_combination_of_columns cannot be
    installed offline). Nulls count as a value, so two rows with a null key part collide.

    `chunk_by` (a hexadecimal key column) checks the key in parts, one per first character of
    that column, plus one for anything else: rows with the same key fall in the same part, so a
    duplicate is found exactly as by one group by, but only a sixteenth of the keys is held at a
    time. The largest segment facts are checked in parts: at 100,000 employees their grain tests
    took 11 s and 1.6 GB at once, 4-6 s and 0.5 GB in parts, and at once one of them ran out of
    memory beside a model building on dbt's other thread (DECISIONS.md, 2026-12-02, session 20).
    (Parts were first written for the segment calendar, whose 900 million keys at a million
    employees spilled over 25 GB when grouped as whole keys; counted as month bits it needs no
    parts: 4.3 GB, nothing spilled. DECISIONS.md, 2026-12-01 and 2026-12-03.)

    `month_column` (a key column of first days of months; DuckDB) groups the other key columns
    with a bit per month instead of hashing every key: for a table with many months per value of
    the other columns (macros/repeated_keys.sql). `member_column` (a key column of few distinct
    values; DuckDB) does the same with a bit per value, numbered in a first pass over it: for a
    table with many such values per value of the other columns. -#}
{% test unique_combination(model, combination, chunk_by=none, hash_first=none,
                           month_column=none, member_column=none) %}
    {{ return(adapter.dispatch('test_unique_combination', 'peoplemart')(
        model, combination, chunk_by, hash_first, month_column, member_column)) }}
{% endtest %}
