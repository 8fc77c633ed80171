with

source as (

    select * from {{ source('planning', 'demand_scenarios') }}

),

renamed as (

    select
        cast(scenario as {{ dbt.type_string() }}) as scenario,
        cast(year as bigint) as year,
        cast(job_family as {{ dbt.type_string() }}) as job_family,
        cast(demand_fte as {{ type_double() }}) as demand_fte,
        {{ lineage_columns() }}
    from source

)

select * from renamed
