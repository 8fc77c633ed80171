-- The workforce on the as-of date by job family and contract type, external (hired-in) workers
-- included, for the flex share: FTE on fixed_term, on_call and external contracts / all FTE.
with

contracts as (

    select
        contracts.*,
        snapshot.as_of_date
    from {{ ref('int_contracts_assigned_to_periods') }} as contracts
    cross join {{ ref('int_hr_snapshots_dated') }} as snapshot
    where contracts.valid_from <= snapshot.as_of_date
        and contracts.effective_to >= snapshot.as_of_date

),

jobs as (

    select * from {{ ref('dim_jobs') }}

)

select
    contracts.as_of_date,
    jobs.job_family,
    contracts.contract_type,
    {{ planning_segment_key('jobs.job_family', 'contracts.contract_type') }} as segment_key,
    sum(contracts.parttime_factor) as workforce_fte,
    sum(
        case
            when contracts.contract_type in ('fixed_term', 'on_call', 'external')
                then contracts.parttime_factor
            else 0
        end
    ) as flex_fte
from contracts
inner join jobs
    on contracts.job_code = jobs.job_code
group by contracts.as_of_date, jobs.job_family, contracts.contract_type
