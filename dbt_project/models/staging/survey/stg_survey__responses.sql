with

source as (

    select * from {{ source('survey', 'responses') }}

),

renamed as (

    select
        cast(wave_id as varchar) as wave_id,
        cast(respondent_id as varchar) as respondent_id,
        cast(org_unit_id as varchar) as org_unit_id,
        cast(employee_id as varchar) as employee_key,
        cast(item_id as varchar) as item_id,
        cast(score as double) as score,
        cast(submitted_at as timestamp) as submitted_at,
        _delivery_id as delivery_id,
        _file_name as source_file_name,
        _row_number as source_row_number,
        _loaded_at as loaded_at
    from source

)

select * from renamed
