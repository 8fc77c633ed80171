with

source as (

    select * from {{ source('survey', 'waves') }}

),

renamed as (

    select
        cast(wave_id as varchar) as wave_id,
        cast(name as varchar) as name,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(anonymity as varchar) as anonymity,
        _delivery_id as delivery_id,
        _file_name as source_file_name,
        _row_number as source_row_number,
        _loaded_at as loaded_at
    from source

)

select * from renamed
