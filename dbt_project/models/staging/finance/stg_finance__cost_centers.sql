with

source as (

    select * from {{ source('finance', 'cost_centers') }}

),

renamed as (

    select
        cast(cost_center as {{ dbt.type_string() }}) as cost_center,
        cast(name as {{ dbt.type_string() }}) as name,
        cast(org_unit_id as {{ dbt.type_string() }}) as org_unit_id,
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to,
        {{ lineage_columns() }}
    from source

)

select * from renamed
