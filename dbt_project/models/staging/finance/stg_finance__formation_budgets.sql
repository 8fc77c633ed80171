with

source as (

    select * from {{ source('finance', 'formation') }}

),

renamed as (

    select
        cast(year as bigint) as year,
        cast(cost_center as {{ dbt.type_string() }}) as cost_center,
        cast(job_family as {{ dbt.type_string() }}) as job_family,
        cast(budget_fte as {{ type_double() }}) as budget_fte,
        {{ lineage_columns() }}
    from source

)

select * from renamed
