{{ config(schema='survey_private') }}
-- One row per wave and respondent: engagement score, engaged (>= 75), eNPS answer and group, and
-- the survey segment: the org unit answered for, plus, in confidential waves only, the HR
-- attributes of the employee on the wave's first day. Respondent-level: this lives in the
-- `survey_private` schema and is never published; published figures pass the anonymity rules.
with

respondents as (

    select
        wave_id,
        respondent_id,
        min(org_unit_id) as org_unit_id,
        min(employee_key) as employee_key
    from {{ ref('stg_survey__responses') }}
    group by wave_id, respondent_id

),

waves as (

    select * from {{ ref('stg_survey__waves') }}

),

constructs as (

    select * from {{ ref('int_survey_respondent_constructs') }}

),

hr_on_wave_start as (

    select
        waves.wave_id,
        pieces.employee_key,
        jobs.job_family,
        pieces.tenure_band,
        pieces.age_band,
        pieces.contract_type,
        pieces.manager_employee_key
    from {{ ref('int_workforce_pieces_split') }} as pieces
    inner join waves
        on waves.start_date between pieces.sub_from and pieces.sub_to
    left join {{ ref('dim_jobs') }} as jobs
        on pieces.job_code = jobs.job_code
    where pieces.is_coverage = true
        and waves.anonymity = 'confidential'

),

scored as (

    select
        respondents.wave_id,
        respondents.respondent_id,
        waves.start_date as wave_start_date,
        waves.anonymity,
        respondents.org_unit_id,
        hr.job_family,
        hr.tenure_band,
        hr.age_band,
        hr.contract_type,
        hr.manager_employee_key,
        engagement.construct_score as engagement_score,
        enps.raw_score as enps_score
    from respondents
    inner join waves
        on respondents.wave_id = waves.wave_id
    left join hr_on_wave_start as hr
        on respondents.wave_id = hr.wave_id
        and respondents.employee_key = hr.employee_key
        and waves.anonymity = 'confidential'
    left join constructs as engagement
        on respondents.wave_id = engagement.wave_id
        and respondents.respondent_id = engagement.respondent_id
        and engagement.construct = 'engagement'
    left join constructs as enps
        on respondents.wave_id = enps.wave_id
        and respondents.respondent_id = enps.respondent_id
        and enps.construct = 'enps'

)

select
    scored.*,
    {{ survey_segment_key('scored.org_unit_id', 'scored.job_family', 'scored.tenure_band',
                          'scored.age_band', 'scored.contract_type',
                          'scored.manager_employee_key') }} as segment_key,
    case when engagement_score is not null then 1 else 0 end as has_engagement_score,
    case when engagement_score >= 75 then 1 else 0 end as is_engaged,
    case when enps_score is not null then 1 else 0 end as has_enps,
    case when enps_score >= 9 then 1 else 0 end as is_promoter,
    case when enps_score <= 6 then 1 else 0 end as is_detractor
from scored
