with

source as (

    select * from {{ source('hris', 'jobs') }}

),

renamed as (

    select
        cast(job_code as varchar) as job_code,
        cast(job_title as varchar) as job_title,
        cast(job_family as varchar) as job_family,
        cast(job_level as bigint) as job_level,
        {{ lineage_columns() }}
    from source

)

select * from renamed
