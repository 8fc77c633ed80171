with

source as (

    select * from {{ source('ingest', 'current_deliveries') }}

),

renamed as (

    select
        cast(source as {{ dbt.type_string() }}) as source_system,
        cast(delivery_id as {{ dbt.type_string() }}) as delivery_id
    from source

)

select * from renamed
