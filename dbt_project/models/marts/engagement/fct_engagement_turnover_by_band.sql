-- "Do people leave managers?" (KPIS.md): per wave, teams (org units answered for) banded by
-- their engagement index, and the turnover of their members in the 12 months after the wave
-- (leavers / members on the wave's last day). Teams with fewer respondents than the anonymity
-- threshold are left out, so no figure here describes a small group.
with

teams as (

    select
        wave_id,
        org_unit_id,
        count(*) as respondents,
        avg(engagement_score) as engagement_index
    from {{ ref('fct_survey_respondents') }}
    where engagement_score is not null
    group by wave_id, org_unit_id
    having count(*) >= {{ var('survey_min_group_size') }}

),

waves as (

    select * from {{ ref('stg_survey__waves') }}

),

snapshot as (

    select as_of_date from {{ ref('int_hr_snapshots_dated') }}

),

members as (

    select
        waves.wave_id,
        pieces.org_unit_id,
        pieces.employee_key,
        pieces.employment_period_key
    from {{ ref('int_workforce_pieces_split') }} as pieces
    inner join waves
        on waves.end_date between pieces.sub_from and pieces.sub_to
    where pieces.is_coverage = true

),

followed as (

    select
        members.wave_id,
        members.org_unit_id,
        count(*) as members,
        cast(sum(
            case
                when exits.termination_date > waves.end_date
                    and exits.termination_date
                    <= cast({{ dbt.dateadd('day', 365, 'waves.end_date') }} as date)
                    then 1
                else 0
            end
        ) as {{ dbt.type_bigint() }}) as leavers_12_months
    from members
    inner join waves
        on members.wave_id = waves.wave_id
    left join {{ ref('fct_exits') }} as exits
        on members.employment_period_key = exits.employment_period_key
    group by members.wave_id, members.org_unit_id

),

banded as (

    select
        teams.wave_id,
        teams.org_unit_id,
        teams.engagement_index,
        case
            when teams.engagement_index < 60 then 'low (<60)'
            when teams.engagement_index < 75 then 'medium (60-75)'
            else 'high (75+)'
        end as engagement_band,
        followed.members,
        followed.leavers_12_months
    from teams
    inner join followed
        on teams.wave_id = followed.wave_id
        and teams.org_unit_id = followed.org_unit_id

)

select
    banded.wave_id,
    banded.engagement_band,
    count(*) as teams,
    cast(sum(banded.members) as {{ dbt.type_bigint() }}) as members,
    cast(sum(banded.leavers_12_months) as {{ dbt.type_bigint() }}) as leavers_12_months,
    cast(sum(banded.leavers_12_months) as {{ type_double() }}) * 100 / nullif(sum(banded.members), 0)
        as turnover_12_months_pct,
    max(case
        when cast({{ dbt.dateadd('day', 365, 'waves.end_date') }} as date) > snapshot.as_of_date
            then 1 else 0
    end) = 1 as is_follow_up_incomplete
from banded
inner join waves
    on banded.wave_id = waves.wave_id
cross join snapshot
group by banded.wave_id, banded.engagement_band
