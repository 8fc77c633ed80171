with

source as (

    select * from {{ source('hris', 'absence_milestones') }}

),

renamed as (

    select
        cast(absence_id as varchar) as absence_id,
        cast(milestone as varchar) as milestone,
        cast(completed_date as date) as completed_date,
        _delivery_id as delivery_id,
        _file_name as source_file_name,
        _row_number as source_row_number,
        _loaded_at as loaded_at
    from source

)

select * from renamed
