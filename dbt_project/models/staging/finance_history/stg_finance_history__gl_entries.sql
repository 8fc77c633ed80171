with

source as (

    select * from {{ source('finance_history', 'gl_entries') }}

),

renamed as (

    select
        cast(entry_id as varchar) as entry_id,
        cast(period as varchar) as period,
        cast(cost_center as varchar) as cost_center,
        cast(account_class as varchar) as account_class,
        cast(amount as decimal(18, 2)) as amount,
        {{ lineage_columns() }}
    from source

)

select * from renamed
