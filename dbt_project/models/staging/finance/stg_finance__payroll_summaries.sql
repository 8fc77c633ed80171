with

source as (

    select * from {{ source('finance', 'payroll') }}

),

renamed as (

    select
        cast(period as varchar) as period,
        cast(cost_center as varchar) as cost_center,
        cast(paid_fte as double) as paid_fte,
        cast(paid_headcount as bigint) as paid_headcount,
        cast(gross_salary_cost as decimal(18, 2)) as gross_salary_cost,
        cast(employer_charges as decimal(18, 2)) as employer_charges,
        _delivery_id as delivery_id,
        _file_name as source_file_name,
        _row_number as source_row_number,
        _loaded_at as loaded_at
    from source

)

select * from renamed
