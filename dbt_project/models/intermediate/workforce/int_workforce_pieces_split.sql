{{ config(materialized="table") }}

-- What every piece carries from its contract, through every step below.
{% set carried_columns = [
    'contract_id', 'employee_key', 'employment_period_key', 'org_unit_id', 'job_code',
    'cost_center', 'contract_type', 'manager_employee_key',
] %}

-- Day-exact pieces of employment: each piece lies in one month and has one value of every
-- slicing attribute (org unit, job, cost center, contract type, manager, gender, age band and
-- tenure band), so the monthly facts can be summed by any of them without an employee x day table.
-- Every contract's days count in FTE (concurrent contracts add up); `is_coverage` marks the
-- pieces whose days count as employed days (headcount): each day once. Readers filter on
-- `is_coverage = true`, not the bare column: DuckDB guesses a fifth of the rows pass a bare
-- boolean but half pass an equality, and with the guess of a fifth it hashed the wrong side of
-- fct_nulverzuim_periods' join and ran out of its 2.8GB bound at 100,000 employees.
-- Day arithmetic is cast back to dates: DuckDB's dateadd gives timestamps, and the piece bounds
-- then stored, joined and compared as timestamps (twice the width of a date, and a cast on every
-- comparison with a month's dates downstream).
-- Pieces are split at band boundaries and given their attributes before they are cut into months:
-- a contract has a handful of pieces but ~20 piece-months, and the joins, band arithmetic and
-- segment hash cost per row.
with

contracts as (

    select * from {{ ref('int_contracts_assigned_to_periods') }}
    where not is_external
        and valid_from <= effective_to

),

periods as (

    select * from {{ ref('int_employment_periods_derived') }}

),

birth_dates as (

    select * from {{ ref('stg_restricted__hris_employees') }}

),

employees as (

    select * from {{ ref('stg_hris__employees') }}

),

months as (

    select distinct
        dates.month_start_date,
        dates.month_end_date
    from {{ ref('dim_dates') }} as dates
    inner join {{ ref('int_hr_snapshots_dated') }} as snapshot
        on dates.date_day between snapshot.history_start_date and snapshot.as_of_date

),

contracts_ordered as (

    select
        contracts.*,
        max(contracts.effective_to) over (
            partition by contracts.employee_key
            order by contracts.valid_from, contracts.is_concurrent, contracts.contract_id
            rows between unbounded preceding and 1 preceding
        ) as covered_until
    from contracts

),

-- One piece per contract. FTE counts every contract's days; employed days (headcount) count
-- each day once, on the first contract that covers it: from `coverage_from` on (null when earlier
-- contracts cover all its days). One row then serves both, where a piece per kind wrote every
-- contract's months twice (13 of the 26 million rows at 100,000 employees were the same days).
pieces as (

    select
        {{ carried_columns | join(',\n        ') }},
        cast(parttime_factor as {{ type_fte() }}) as parttime_factor,
        valid_from as piece_from,
        effective_to as piece_to,
        case
            when covered_until is null or covered_until < valid_from then valid_from
            when covered_until < effective_to
                then cast({{ dbt.dateadd('day', 1, 'covered_until') }} as date)
        end as coverage_from
    from contracts_ordered

),

history as (

    select
        min(month_start_date) as first_day,
        max(month_end_date) as last_day
    from months

),

-- Pieces clipped to the reporting range: a band boundary before it must not count as crossed
-- inside a piece that starts earlier.
pieces_in_range as (

    select
        {% for column in carried_columns %}
        pieces.{{ column }},
        {% endfor %}
        pieces.parttime_factor,
        pieces.coverage_from,
        case
            when pieces.piece_from > history.first_day then pieces.piece_from
            else history.first_day
        end as piece_from,
        case
            when pieces.piece_to < history.last_day then pieces.piece_to
            else history.last_day
        end as piece_to
    from pieces
    cross join history
    where pieces.piece_to >= history.first_day
        and pieces.piece_from <= history.last_day

),

-- Days on which a person enters another age or tenure band, inside the reporting range only:
-- a handful per person, so only the few pieces they fall in are split (no window over all).
band_boundaries as (

    select boundaries.*
    from (
        {% for years in age_band_boundaries() %}
        select
            employee_key,
            cast(null as {{ dbt.type_string() }}) as employment_period_key,
            cast({{ dbt.dateadd('year', years, 'birth_date') }} as date) as boundary_date
        from birth_dates
        union all
        {% endfor %}
        {% for years in tenure_band_boundaries() %}
        select
            employee_key,
            employment_period_key,
            cast({{ dbt.dateadd('year', years, 'hire_date') }} as date) as boundary_date
        from periods
        {% if not loop.last %}union all{% endif %}
        {% endfor %}
    ) as boundaries
    cross join history
    where boundaries.boundary_date > history.first_day
        and boundaries.boundary_date <= history.last_day

),

-- Where a piece is split: at band boundaries, and where its days start to count as employed days.
boundary_hits as (

    select
        pieces_in_range.contract_id,
        band_boundaries.boundary_date
    from pieces_in_range
    inner join band_boundaries
        on pieces_in_range.employee_key = band_boundaries.employee_key
        and band_boundaries.boundary_date > pieces_in_range.piece_from
        and band_boundaries.boundary_date <= pieces_in_range.piece_to
    where band_boundaries.employment_period_key is null
        or band_boundaries.employment_period_key = pieces_in_range.employment_period_key
    union all
    select
        contract_id,
        coverage_from as boundary_date
    from pieces_in_range
    where coverage_from > piece_from
        and coverage_from <= piece_to

),

split_points as (

    select distinct
        pieces_in_range.contract_id,
        pieces_in_range.piece_from as point_from
    from pieces_in_range
    inner join (
        select distinct contract_id from boundary_hits
    ) as hit_pieces
        on pieces_in_range.contract_id = hit_pieces.contract_id
    union
    select contract_id, boundary_date as point_from
    from boundary_hits

),

split_ranges as (

    select
        contract_id,
        point_from as sub_from,
        cast({{ dbt.dateadd('day', -1,
            'lead(point_from) over (partition by contract_id order by point_from)') }} as date)
            as next_to
    from split_points

),

sub_pieces as (

    select
        {% for column in carried_columns %}
        pieces_in_range.{{ column }},
        {% endfor %}
        pieces_in_range.parttime_factor,
        pieces_in_range.coverage_from,
        coalesce(split_ranges.sub_from, pieces_in_range.piece_from) as sub_from,
        coalesce(split_ranges.next_to, pieces_in_range.piece_to) as sub_to
    from pieces_in_range
    left join split_ranges
        on pieces_in_range.contract_id = split_ranges.contract_id

),

attributed as (

    select
        sub_pieces.*,
        employees.gender,
        case
            when birth_dates.birth_date is null then 'unknown'
            else {{ age_band(completed_years('birth_dates.birth_date', 'sub_pieces.sub_from')) }}
        end as age_band,
        {{ tenure_band(completed_years('periods.hire_date', 'sub_pieces.sub_from')) }}
            as tenure_band,
        periods.hire_date,
        periods.termination_date
    from sub_pieces
    inner join periods
        on sub_pieces.employment_period_key = periods.employment_period_key
    inner join employees
        on sub_pieces.employee_key = employees.employee_key
    left join birth_dates
        on sub_pieces.employee_key = birth_dates.employee_key
    where sub_pieces.sub_to >= sub_pieces.sub_from

),

-- Keyed before the month split: one segment hash per piece, not per piece-month.
segmented as {{ materialized_cte() }} (

    select
        attributed.*,
        {{ workforce_segment_key() }} as segment_key
    from attributed

),

by_month as (

    select
        segmented.*,
        months.month_start_date,
        months.month_end_date,
        case
            when segmented.sub_from > months.month_start_date then segmented.sub_from
            else months.month_start_date
        end as part_from,
        case
            when segmented.sub_to < months.month_end_date then segmented.sub_to
            else months.month_end_date
        end as part_to
    from segmented
    inner join months
        on months.month_start_date <= segmented.sub_to
        and months.month_end_date >= segmented.sub_from

),

final as (

    select
        {{ carried_columns | join(',\n        ') }},
        parttime_factor,
        case when sub_from >= coverage_from then true else false end as is_coverage,
        month_start_date,
        month_end_date,
        part_from as sub_from,
        part_to as sub_to,
        {{ dbt.datediff('part_from', 'part_to', 'day') }} + 1 as days,
        gender,
        age_band,
        tenure_band,
        hire_date,
        termination_date,
        segment_key
    from by_month

)

select * from final
