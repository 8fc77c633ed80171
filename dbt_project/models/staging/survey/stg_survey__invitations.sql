with

source as (

    select * from {{ source('survey', 'invitations') }}

),

renamed as (

    select
        cast(wave_id as varchar) as wave_id,
        cast(org_unit_id as varchar) as org_unit_id,
        cast(invited as bigint) as invited,
        _delivery_id as delivery_id,
        _file_name as source_file_name,
        _row_number as source_row_number,
        _loaded_at as loaded_at
    from source

)

select * from renamed
