-- The record of restatements: every period that a later finance delivery delivered again, with
-- the totals per account class before and after, so a controller sees what changed and when.
with

versions as (

    select
        period,
        delivery_id,
        account_class,
        sum(amount) as amount
    from {{ ref('stg_finance_history__gl_entries') }}
    group by period, delivery_id, account_class

),

sequenced as (

    select
        versions.*,
        lag(delivery_id) over (
            partition by period, account_class order by delivery_id
        ) as previous_delivery_id,
        lag(amount) over (
            partition by period, account_class order by delivery_id
        ) as previous_amount
    from versions

)

select
    period,
    account_class,
    previous_delivery_id,
    delivery_id as restated_in_delivery_id,
    previous_amount,
    amount as restated_amount,
    amount - previous_amount as difference
from sequenced
where previous_delivery_id is not null
