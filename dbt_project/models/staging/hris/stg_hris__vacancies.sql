with

source as (

    select * from {{ source('hris', 'vacancies') }}

),

renamed as (

    select
        cast(vacancy_id as {{ dbt.type_string() }}) as vacancy_id,
        cast(org_unit_id as {{ dbt.type_string() }}) as org_unit_id,
        cast(job_code as {{ dbt.type_string() }}) as job_code,
        cast(fte as {{ type_double() }}) as fte,
        cast(opened_date as date) as opened_date,
        cast(filled_date as date) as filled_date,
        cast(cancelled_date as date) as cancelled_date,
        cast(hired_employee_id as {{ dbt.type_string() }}) as hired_employee_key,
        cast(is_internal_hire as boolean) as is_internal_hire,
        {{ lineage_columns() }}
    from source

)

select * from renamed
