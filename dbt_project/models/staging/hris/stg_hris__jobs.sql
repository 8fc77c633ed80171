with

source as (

    select * from {{ source('hris', 'jobs') }}

),

renamed as (

    select
        cast(job_code as {{ dbt.type_string() }}) as job_code,
        cast(job_title as {{ dbt.type_string() }}) as job_title,
        cast(job_family as {{ dbt.type_string() }}) as job_family,
        cast(job_level as bigint) as job_level,
        {{ lineage_columns() }}
    from source

)

select * from renamed
