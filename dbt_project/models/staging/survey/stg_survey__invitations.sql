with

source as (

    select * from {{ source('survey', 'invitations') }}

),

renamed as (

    select
        cast(wave_id as {{ dbt.type_string() }}) as wave_id,
        cast(org_unit_id as {{ dbt.type_string() }}) as org_unit_id,
        cast(invited as bigint) as invited,
        {{ lineage_columns() }}
    from source

)

select * from renamed
