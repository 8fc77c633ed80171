-- Supply today (KPIS.md, SPP): headcount and FTE on the as-of date (the day the newest HR
-- snapshot describes) per workforce segment, so it slices by job family, age band, contract type
-- and every other segment attribute. Each person's AOW date rides along for the projection.
with

pieces as (

    select
        pieces.*,
        snapshot.as_of_date
    from {{ ref('int_workforce_pieces_split') }} as pieces
    cross join {{ ref('int_hr_snapshots_dated') }} as snapshot
    where pieces.sub_from <= snapshot.as_of_date
        and pieces.sub_to >= snapshot.as_of_date

),

aow as (

    select distinct employee_key, aow_date, is_aow_date_assumed
    from {{ ref('dim_employees') }}

)

select
    pieces.as_of_date,
    pieces.employee_key,
    pieces.segment_key,
    aow.aow_date,
    coalesce(aow.is_aow_date_assumed, true) as is_aow_date_assumed,
    cast(sum(case when pieces.is_coverage then 1 else 0 end) as {{ dbt.type_bigint() }}) as headcount,
    sum(pieces.parttime_factor) as fte
from pieces
left join aow
    on pieces.employee_key = aow.employee_key
group by pieces.as_of_date, pieces.employee_key, pieces.segment_key, aow.aow_date, aow.is_aow_date_assumed
