-- Driver analysis per wave (KPIS.md): the correlation across respondents between each driver
-- construct score and the engagement score, ranked (1 = strongest). Computed over all
-- respondents of the wave, so it describes no small group.
with

drivers as (

    select * from {{ ref('fct_survey_construct_scores') }}

),

respondents as (

    select * from {{ ref('fct_survey_respondents') }}
    where engagement_score is not null

),

correlated as (

    select
        drivers.wave_id,
        drivers.construct,
        count(*) as respondents,
        corr(drivers.construct_score, respondents.engagement_score) as correlation
    from drivers
    inner join respondents
        on drivers.wave_id = respondents.wave_id
        and drivers.respondent_id = respondents.respondent_id
    group by drivers.wave_id, drivers.construct

)

select
    correlated.*,
    row_number() over (
        partition by wave_id order by correlation desc nulls last, construct
    ) as driver_rank
from correlated
