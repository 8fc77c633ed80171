with

source as (

    select * from {{ source('hris', 'absences') }}

),

renamed as (

    select
        cast(absence_id as {{ dbt.type_string() }}) as absence_id,
        cast(employee_id as {{ dbt.type_string() }}) as employee_key,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(incapacity_pct as {{ type_double() }}) as incapacity_pct,
        cast(absence_type as {{ dbt.type_string() }}) as absence_type,
        {{ lineage_columns() }}
    from source

)

select * from renamed
