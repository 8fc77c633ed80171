{{ config(materialized="table") }}

-- One row per workforce segment with a whole number standing in for its 32-character key. The
-- large sums (fct_workforce_monthly, fct_retention_periods) group on the number: a group keyed
-- by text holds the text and a pointer to it, which at a million employees is what spills.
with

segments as (

    select distinct segment_key
    from {{ ref('int_workforce_pieces_split') }}

),

final as (

    select
        segment_key,
        row_number() over (order by segment_key) as segment_number
    from segments

)

select * from final
