with

source as (

    select * from {{ source('planning', 'demand_scenarios') }}

),

renamed as (

    select
        cast(scenario as varchar) as scenario,
        cast(year as bigint) as year,
        cast(job_family as varchar) as job_family,
        cast(demand_fte as double) as demand_fte,
        _delivery_id as delivery_id,
        _file_name as source_file_name,
        _row_number as source_row_number,
        _loaded_at as loaded_at
    from source

)

select * from renamed
