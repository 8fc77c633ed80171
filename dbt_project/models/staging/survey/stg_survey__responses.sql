with

source as (

    select * from {{ source('survey', 'responses') }}

),

renamed as (

    select
        cast(wave_id as {{ dbt.type_string() }}) as wave_id,
        cast(respondent_id as {{ dbt.type_string() }}) as respondent_id,
        cast(org_unit_id as {{ dbt.type_string() }}) as org_unit_id,
        cast(employee_id as {{ dbt.type_string() }}) as employee_key,
        cast(item_id as {{ dbt.type_string() }}) as item_id,
        cast(score as {{ type_double() }}) as score,
        cast(submitted_at as timestamp) as submitted_at,
        {{ lineage_columns() }}
    from source

)

select * from renamed
