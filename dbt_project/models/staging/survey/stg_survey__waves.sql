with

source as (

    select * from {{ source('survey', 'waves') }}

),

renamed as (

    select
        cast(wave_id as varchar) as wave_id,
        cast(name as varchar) as name,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(anonymity as varchar) as anonymity,
        {{ lineage_columns() }}
    from source

)

select * from renamed
