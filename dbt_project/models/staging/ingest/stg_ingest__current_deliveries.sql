with

source as (

    select * from {{ source('ingest', 'current_deliveries') }}

),

renamed as (

    select
        cast(source as varchar) as source_system,
        cast(delivery_id as varchar) as delivery_id
    from source

)

select * from renamed
