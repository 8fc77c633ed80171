with

source as (

    select * from {{ source('survey', 'items') }}

),

renamed as (

    select
        cast(item_id as {{ dbt.type_string() }}) as item_id,
        cast(construct as {{ dbt.type_string() }}) as construct,
        cast(text as {{ dbt.type_string() }}) as text,
        cast(scale_min as bigint) as scale_min,
        cast(scale_max as bigint) as scale_max,
        cast(is_reverse_scored as boolean) as is_reverse_scored,
        {{ lineage_columns() }}
    from source

)

select * from renamed
