with

source as (

    select * from {{ source('finance', 'payroll') }}

),

renamed as (

    select
        cast(period as {{ dbt.type_string() }}) as period,
        cast(cost_center as {{ dbt.type_string() }}) as cost_center,
        cast(paid_fte as {{ type_double() }}) as paid_fte,
        cast(paid_headcount as bigint) as paid_headcount,
        cast(gross_salary_cost as decimal(18, 2)) as gross_salary_cost,
        cast(employer_charges as decimal(18, 2)) as employer_charges,
        {{ lineage_columns() }}
    from source

)

select * from renamed
