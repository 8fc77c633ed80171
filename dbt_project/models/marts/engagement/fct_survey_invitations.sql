-- People invited per wave and org unit (the response-rate denominator), in the org unit's
-- survey segment (no HR attributes: invitations are counts per unit).
select
    invitations.wave_id,
    waves.start_date as wave_start_date,
    invitations.org_unit_id,
    invitations.invited,
    {{ survey_segment_key('invitations.org_unit_id', 'null', 'null', 'null', 'null', 'null') }}
        as segment_key
from {{ ref('stg_survey__invitations') }} as invitations
inner join {{ ref('stg_survey__waves') }} as waves
    on invitations.wave_id = waves.wave_id
