{{ config(materialized="table") }}
-- A table, not a view: two marts and the grain test each grouped the normalised answers again
-- (20 million at 100,000 employees).
-- One row per wave, respondent and construct: the mean normalised score of the items answered,
-- or null when the respondent answered fewer than half of the construct's items (KPIS.md).
with

scores as (

    select * from {{ ref('int_survey_scores_normalised') }}

),

construct_sizes as (

    select construct, count(*) as items_in_construct
    from {{ ref('stg_survey__items') }}
    group by construct

),

answered as (

    select
        wave_id,
        respondent_id,
        construct,
        count(*) as items_answered,
        avg(normalised_score) as mean_score,
        max(score) as raw_score
    from scores
    group by wave_id, respondent_id, construct

)

select
    answered.wave_id,
    answered.respondent_id,
    answered.construct,
    answered.items_answered,
    construct_sizes.items_in_construct,
    case
        when answered.items_answered * 2 >= construct_sizes.items_in_construct
            then answered.mean_score
    end as construct_score,
    answered.raw_score
from answered
inner join construct_sizes
    on answered.construct = construct_sizes.construct
