with

spine as (

    {{ dbt.date_spine(
        'day',
        "cast('" ~ var('calendar_start') ~ "' as date)",
        "cast('" ~ var('calendar_end') ~ "' as date)"
    ) }}

),

dated as (

    select
        cast(date_day as date) as date_day,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start_date,
        cast({{ dbt.last_day('date_day', 'month') }} as date) as month_end_date,
        cast({{ dbt.date_trunc('quarter', 'date_day') }} as date) as quarter_start_date,
        cast({{ dbt.date_trunc('year', 'date_day') }} as date) as year_start_date
    from spine

),

final as (

    select
        date_day,
        month_start_date,
        month_end_date,
        quarter_start_date,
        year_start_date,
        {{ dbt.datediff('month_start_date', 'month_end_date', 'day') }} + 1 as days_in_month
    from dated

)

select * from final
