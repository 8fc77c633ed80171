{{ config(materialized="table") }}

-- One row per workforce segment with a whole number standing in for its 32-character key.
-- fct_workforce_monthly's sum groups on the number: a group keyed by text holds the text and a
-- pointer to it, which at a million employees is what spilled. Its join back to the text builds
-- on this table; a sum whose size DuckDB misjudges must not join back this way (DECISIONS.md,
-- 2026-12-01).
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
