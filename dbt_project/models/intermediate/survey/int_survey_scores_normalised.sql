{{ config(materialized="table") }}
-- A table, not a view: several marts and tests read it, and a view would be computed again for
-- each of them.
-- Every answered item score on a 0-100 scale: (score - scale_min) / (scale_max - scale_min) x 100,
-- reverse-scored items flipped (KPIS.md, Engagement). The eNPS item keeps its raw 0-10 score too.
with

responses as (

    select * from {{ ref('stg_survey__responses') }}
    where score is not null

),

items as (

    select * from {{ ref('stg_survey__items') }}

)

select
    responses.wave_id,
    responses.respondent_id,
    responses.org_unit_id,
    responses.employee_key,
    responses.item_id,
    items.construct,
    responses.score,
    case
        when items.is_reverse_scored
            then 100 - (responses.score - items.scale_min) * 100.0 / (items.scale_max - items.scale_min)
        else (responses.score - items.scale_min) * 100.0 / (items.scale_max - items.scale_min)
    end as normalised_score
from responses
inner join items
    on responses.item_id = items.item_id
