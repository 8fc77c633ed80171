with

source as (

    select * from {{ source('hris', 'employees') }}

),

renamed as (

    select
        cast(employee_id as {{ dbt.type_string() }}) as employee_key,
        cast(gender as {{ dbt.type_string() }}) as gender,
        cast(original_hire_date as date) as original_hire_date,
        {{ lineage_columns() }}
    from source

)

select * from renamed
