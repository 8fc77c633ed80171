with

source as (

    select * from {{ source('hris', 'terminations') }}

),

renamed as (

    select
        cast(employee_id as varchar) as employee_key,
        cast(termination_date as date) as termination_date,
        cast(reason_code as varchar) as reason_code,
        cast(initiative as varchar) as initiative,
        cast(is_regretted as boolean) as is_regretted,
        {{ lineage_columns() }}
    from source

)

select * from renamed
