-- One row per employee, month and segment: employed days (headcount), FTE days, month-end
-- headcount and FTE, and the hires, leavers (with tenure at exit), internal moves and org-unit
-- transfers that happened in that segment.
-- Average headcount of any period = employed days / days in the period (the exact daily average).
-- The pieces table is read once per use, never through one shared CTE: DuckDB materialises a CTE
-- that is used twice, a copy of every piece (7 GB at 100,000 employees).
with

contracts as (

    select * from {{ ref('int_contracts_assigned_to_periods') }}

),

-- A new contract in the same employment period with another job or org unit is an internal move.
moves as (

    select
        contract_id,
        valid_from
    from (
        select
            contract_id,
            valid_from,
            org_unit_id,
            job_code,
            lag(org_unit_id) over (
                partition by employment_period_key order by valid_from, contract_id
            ) as previous_org_unit_id,
            lag(job_code) over (
                partition by employment_period_key order by valid_from, contract_id
            ) as previous_job_code
        from contracts
        where not is_external and not is_concurrent
    ) as sequenced
    where previous_org_unit_id is not null
        and (org_unit_id <> previous_org_unit_id or job_code <> previous_job_code)

),

coverage as (

    select
        contract_id,
        employee_key,
        segment_key,
        month_start_date,
        month_end_date,
        sub_from,
        sub_to,
        days,
        hire_date
    from {{ ref('int_workforce_pieces_split') }}
    where piece_kind = 'coverage'

),

coverage_events as (

    select
        coverage.employee_key,
        coverage.segment_key,
        coverage.month_start_date,
        coverage.days as employed_days,
        cast(0 as {{ dbt.type_numeric() }}) as fte_days,
        case when coverage.sub_to = coverage.month_end_date then 1 else 0 end
            as headcount_at_month_end,
        cast(0 as {{ dbt.type_numeric() }}) as fte_at_month_end,
        case when coverage.sub_from = coverage.hire_date then 1 else 0 end as hires,
        case when moves.contract_id is not null then 1 else 0 end as internal_moves,
        0 as transfers_in,
        0 as transfers_out,
        0 as leavers,
        0 as voluntary_leavers,
        0 as regretted_leavers,
        0 as tenure_days_at_exit,
        cast(null as {{ dbt.type_string() }}) as exit_reason_code,
        cast(null as {{ dbt.type_string() }}) as exit_initiative
    from coverage
    left join moves
        on coverage.contract_id = moves.contract_id
        and coverage.sub_from = moves.valid_from

),

-- The leaver counts in the segment of the last day worked and the month of the termination.
leaver_events as (

    select
        employee_key,
        segment_key,
        termination_month_start_date as month_start_date,
        0 as employed_days,
        cast(0 as {{ dbt.type_numeric() }}) as fte_days,
        0 as headcount_at_month_end,
        cast(0 as {{ dbt.type_numeric() }}) as fte_at_month_end,
        0 as hires,
        0 as internal_moves,
        0 as transfers_in,
        0 as transfers_out,
        1 as leavers,
        case when is_voluntary then 1 else 0 end as voluntary_leavers,
        case when is_regretted then 1 else 0 end as regretted_leavers,
        tenure_days as tenure_days_at_exit,
        reason_code as exit_reason_code,
        initiative as exit_initiative
    from {{ ref('int_exits_attributed') }}

),

-- A person changing org unit leaves the old unit's count and joins the new one's in the month
-- the new unit starts, so that every unit's headcount moves only by hires, leavers and transfers.
-- Only periods with contracts in more than one unit can hold a transfer: the window that finds
-- them sorts those periods' pieces, not everyone's.
periods_with_transfers as (

    select employment_period_key
    from contracts
    where not is_external
    group by employment_period_key
    having count(distinct org_unit_id) > 1

),

transfer_steps as (

    select
        pieces.employee_key,
        pieces.segment_key,
        pieces.org_unit_id,
        pieces.month_start_date,
        lag(pieces.org_unit_id) over (
            partition by pieces.employment_period_key order by pieces.sub_from
        ) as previous_org_unit_id,
        lag(pieces.segment_key) over (
            partition by pieces.employment_period_key order by pieces.sub_from
        ) as previous_segment_key
    from {{ ref('int_workforce_pieces_split') }} as pieces
    inner join periods_with_transfers
        on pieces.employment_period_key = periods_with_transfers.employment_period_key
    where pieces.piece_kind = 'coverage'

),

transfer_directions as (

    select 'in' as direction
    union all
    select 'out' as direction

),

transfer_events as (

    select
        transfer_steps.employee_key,
        case
            when transfer_directions.direction = 'in' then transfer_steps.segment_key
            else transfer_steps.previous_segment_key
        end as segment_key,
        transfer_steps.month_start_date,
        0 as employed_days,
        cast(0 as {{ dbt.type_numeric() }}) as fte_days,
        0 as headcount_at_month_end,
        cast(0 as {{ dbt.type_numeric() }}) as fte_at_month_end,
        0 as hires,
        0 as internal_moves,
        case when transfer_directions.direction = 'in' then 1 else 0 end as transfers_in,
        case when transfer_directions.direction = 'out' then 1 else 0 end as transfers_out,
        0 as leavers,
        0 as voluntary_leavers,
        0 as regretted_leavers,
        0 as tenure_days_at_exit,
        cast(null as {{ dbt.type_string() }}) as exit_reason_code,
        cast(null as {{ dbt.type_string() }}) as exit_initiative
    from transfer_steps
    cross join transfer_directions
    where transfer_steps.org_unit_id <> transfer_steps.previous_org_unit_id

),

fte_events as (

    select
        employee_key,
        segment_key,
        month_start_date,
        0 as employed_days,
        days * parttime_factor as fte_days,
        0 as headcount_at_month_end,
        case when sub_to = month_end_date then parttime_factor else 0 end as fte_at_month_end,
        0 as hires,
        0 as internal_moves,
        0 as transfers_in,
        0 as transfers_out,
        0 as leavers,
        0 as voluntary_leavers,
        0 as regretted_leavers,
        0 as tenure_days_at_exit,
        cast(null as {{ dbt.type_string() }}) as exit_reason_code,
        cast(null as {{ dbt.type_string() }}) as exit_initiative
    from {{ ref('int_workforce_pieces_split') }}
    where piece_kind = 'fte'

),

events as (

    select * from coverage_events
    union all
    select * from leaver_events
    union all
    select * from transfer_events
    union all
    select * from fte_events

),

final as (

    select
        employee_key,
        month_start_date,
        segment_key,
        max(exit_reason_code) as exit_reason_code,
        max(exit_initiative) as exit_initiative,
        sum(employed_days) as employed_days,
        cast(sum(fte_days) as {{ dbt.type_numeric() }}) as fte_days,
        max(headcount_at_month_end) as headcount_at_month_end,
        cast(sum(fte_at_month_end) as {{ dbt.type_numeric() }}) as fte_at_month_end,
        sum(hires) as hires,
        sum(leavers) as leavers,
        sum(voluntary_leavers) as voluntary_leavers,
        sum(regretted_leavers) as regretted_leavers,
        sum(internal_moves) as internal_moves,
        sum(transfers_in) as transfers_in,
        sum(transfers_out) as transfers_out,
        sum(tenure_days_at_exit) as tenure_days_at_exit
    from events
    group by employee_key, month_start_date, segment_key

)

select * from final
