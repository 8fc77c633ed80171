with

source as (

    select * from {{ source('hris', 'jobs') }}

),

renamed as (

    select
        cast(job_code as varchar) as job_code,
        cast(job_title as varchar) as job_title,
        cast(job_family as varchar) as job_family,
        cast(job_level as bigint) as job_level,
        _delivery_id as delivery_id,
        _file_name as source_file_name,
        _row_number as source_row_number,
        _loaded_at as loaded_at
    from source

)

select * from renamed
