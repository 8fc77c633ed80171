with

source as (

    select * from {{ source('hris', 'employees') }}

),

renamed as (

    select
        cast(employee_id as varchar) as employee_key,
        cast(gender as varchar) as gender,
        cast(original_hire_date as date) as original_hire_date,
        _delivery_id as delivery_id,
        _file_name as source_file_name,
        _row_number as source_row_number,
        _loaded_at as loaded_at
    from source

)

select * from renamed
