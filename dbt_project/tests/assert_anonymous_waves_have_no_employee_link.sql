{{ config(meta={'dagster': {'ref': {'name': 'stg_survey__responses'}}}) }}

-- An anonymous wave must never be linkable to a person (KPIS.md, Engagement: anonymity).
select
    responses.wave_id,
    responses.respondent_id
from {{ ref('stg_survey__responses') }} as responses
inner join {{ ref('stg_survey__waves') }} as waves
    on responses.wave_id = waves.wave_id
where waves.anonymity = 'anonymous'
    and responses.employee_key is not null
