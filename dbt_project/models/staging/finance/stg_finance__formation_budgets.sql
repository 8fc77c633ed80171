with

source as (

    select * from {{ source('finance', 'formation') }}

),

renamed as (

    select
        cast(year as bigint) as year,
        cast(cost_center as varchar) as cost_center,
        cast(job_family as varchar) as job_family,
        cast(budget_fte as double) as budget_fte,
        _delivery_id as delivery_id,
        _file_name as source_file_name,
        _row_number as source_row_number,
        _loaded_at as loaded_at
    from source

)

select * from renamed
