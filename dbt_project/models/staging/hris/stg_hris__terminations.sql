with

source as (

    select * from {{ source('hris', 'terminations') }}

),

renamed as (

    select
        cast(employee_id as varchar) as employee_key,
        cast(termination_date as date) as termination_date,
        cast(reason_code as varchar) as reason_code,
        cast(initiative as varchar) as initiative,
        cast(is_regretted as boolean) as is_regretted,
        _delivery_id as delivery_id,
        _file_name as source_file_name,
        _row_number as source_row_number,
        _loaded_at as loaded_at
    from source

)

select * from renamed
