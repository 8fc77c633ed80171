{{ config(schema='survey_private') }}
-- One row per wave, respondent and driver construct with a score (respondent-level: never
-- published; see fct_survey_respondents), in the respondent's survey segment.
select
    respondents.wave_id,
    respondents.respondent_id,
    respondents.wave_start_date,
    respondents.segment_key,
    constructs.construct,
    constructs.construct_score
from {{ ref('int_survey_respondent_constructs') }} as constructs
inner join {{ ref('fct_survey_respondents') }} as respondents
    on constructs.wave_id = respondents.wave_id
    and constructs.respondent_id = respondents.respondent_id
where constructs.construct not in ('engagement', 'enps')
    and constructs.construct_score is not null
