with

source as (

    select * from {{ source('hris', 'contracts') }}

),

renamed as (

    select
        cast(contract_id as {{ dbt.type_string() }}) as contract_id,
        cast(employee_id as {{ dbt.type_string() }}) as employee_key,
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to,
        cast(org_unit_id as {{ dbt.type_string() }}) as org_unit_id,
        cast(job_code as {{ dbt.type_string() }}) as job_code,
        cast(cost_center as {{ dbt.type_string() }}) as cost_center,
        cast(contract_type as {{ dbt.type_string() }}) as contract_type,
        cast(hours_per_week as {{ type_double() }}) as hours_per_week,
        cast(fulltime_hours as {{ type_double() }}) as fulltime_hours,
        cast(monthly_salary as decimal(18, 2)) as monthly_salary,
        cast(manager_employee_id as {{ dbt.type_string() }}) as manager_employee_key,
        cast(is_concurrent as boolean) as is_concurrent,
        {{ lineage_columns() }}
    from source

)

select * from renamed
