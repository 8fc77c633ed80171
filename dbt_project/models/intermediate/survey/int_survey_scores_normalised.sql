{{ config(materialized="view") }}
-- A view: one model (int_survey_respondent_constructs) and its grain test read it, and a scan of
-- the answers joined to the items costs each of them less than reading a written copy would
-- (100,000 employees: table 7.1 s + its reads 6.9 s, view read 7.7 s; 200 million rows at a
-- million employees are not written at all).
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
