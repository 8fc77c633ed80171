{#- The lineage every staging model carries from ingestion: which delivery, file and row. -#}
{% macro lineage_columns() -%}
        _delivery_id as delivery_id,
        _file_name as source_file_name,
        _row_number as source_row_number,
        _loaded_at as loaded_at
{%- endmacro %}
