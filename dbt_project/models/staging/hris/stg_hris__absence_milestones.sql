with

source as (

    select * from {{ source('hris', 'absence_milestones') }}

),

renamed as (

    select
        cast(absence_id as {{ dbt.type_string() }}) as absence_id,
        cast(milestone as {{ dbt.type_string() }}) as milestone,
        cast(completed_date as date) as completed_date,
        {{ lineage_columns() }}
    from source

)

select * from renamed
