with

source as (

    select * from {{ source('survey', 'waves') }}

),

renamed as (

    select
        cast(wave_id as {{ dbt.type_string() }}) as wave_id,
        cast(name as {{ dbt.type_string() }}) as name,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(anonymity as {{ dbt.type_string() }}) as anonymity,
        {{ lineage_columns() }}
    from source

)

select * from renamed
