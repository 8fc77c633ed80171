with

source as (

    select * from {{ source('restricted', 'current_hris_employees') }}

),

renamed as (

    select
        cast(employee_id as {{ dbt.type_string() }}) as employee_key,
        cast(birth_date as date) as birth_date,
        _delivery_id as delivery_id,
        _loaded_at as loaded_at
    from source

)

select * from renamed
