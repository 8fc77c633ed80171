-- The day the current HR snapshot describes: the day before its delivery (an extract taken in
-- the night of the 1st describes the 31st). Facts run up to this day and no further, and start
-- `history_years` calendar years back (older history stays in staging and the dimensions).
with

deliveries as (

    select delivery_id from {{ ref('stg_ingest__current_deliveries') }}
    where source_system = 'hris'

),

dated as (

    select
        delivery_id,
        cast({{ dbt.dateadd('day', -1, "cast(" ~ dbt.concat([
            "substring(delivery_id, 1, 4)", "'-'",
            "substring(delivery_id, 5, 2)", "'-'",
            "substring(delivery_id, 7, 2)"]) ~ " as date)") }} as date) as as_of_date
    from deliveries

),

final as (

    select
        delivery_id,
        as_of_date,
        cast({{ dbt.date_trunc('year', dbt.dateadd('year', 1 - var('history_years'),
                                                   'as_of_date')) }} as date)
            as history_start_date
    from dated

)

select * from final
