select date_day from {{ ref('dim_dates') }}
