with

source as (

    select * from {{ source('hris', 'org_units') }}

),

renamed as (

    select
        cast(org_unit_id as {{ dbt.type_string() }}) as org_unit_id,
        cast(name as {{ dbt.type_string() }}) as name,
        cast(parent_org_unit_id as {{ dbt.type_string() }}) as parent_org_unit_id,
        cast(manager_employee_id as {{ dbt.type_string() }}) as manager_employee_key,
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to,
        {{ lineage_columns() }}
    from source

)

select * from renamed
