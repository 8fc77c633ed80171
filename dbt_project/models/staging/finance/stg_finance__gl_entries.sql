with

source as (

    select * from {{ source('finance', 'gl_entries') }}

),

renamed as (

    select
        cast(entry_id as {{ dbt.type_string() }}) as entry_id,
        cast(booking_date as date) as booking_date,
        cast(period as {{ dbt.type_string() }}) as period,
        cast(cost_center as {{ dbt.type_string() }}) as cost_center,
        cast(account as {{ dbt.type_string() }}) as account,
        cast(account_class as {{ dbt.type_string() }}) as account_class,
        cast(amount as decimal(18, 2)) as amount,
        {{ lineage_columns() }}
    from source

)

select * from renamed
