with

source as (

    select * from {{ source('hris', 'terminations') }}

),

renamed as (

    select
        cast(employee_id as {{ dbt.type_string() }}) as employee_key,
        cast(termination_date as date) as termination_date,
        cast(reason_code as {{ dbt.type_string() }}) as reason_code,
        cast(initiative as {{ dbt.type_string() }}) as initiative,
        cast(is_regretted as boolean) as is_regretted,
        {{ lineage_columns() }}
    from source

)

select * from renamed
