-- One row per employee, month and segment: employed days (headcount), FTE days, month-end
-- headcount and FTE, and the hires, leavers (with tenure at exit), internal moves and org-unit
-- transfers that happened in that segment.
-- Average headcount of any period = employed days / days in the period (the exact daily average).
-- Two sums, joined at the end: the pieces' (int_workforce_piece_months: an employee-month or
-- two each, 130 million at a million employees, summed on whole-number stand-ins for the keys in
-- a query of their own; DECISIONS.md, 2026-12-01 and 2026-12-04) and the flows' (leavers and
-- transfers, a few million), summed here.
with

contracts as (

    select * from {{ ref('int_contracts_assigned_to_periods') }}

),

employee_numbers as (

    select * from {{ ref('int_employees_numbered') }}

),

segment_numbers as (

    select * from {{ ref('int_workforce_segments_numbered') }}

),

piece_months as (

    select * from {{ ref('int_workforce_piece_months') }}

),

piece_months_keyed as (

    select
        piece_months.employee_number,
        piece_months.segment_number,
        employee_numbers.employee_key,
        piece_months.month_start_date,
        segment_numbers.segment_key,
        piece_months.employed_days,
        piece_months.fte_days,
        piece_months.headcount_at_month_end,
        piece_months.fte_at_month_end,
        piece_months.hires,
        piece_months.internal_moves
    from piece_months
    inner join employee_numbers
        on piece_months.employee_number = employee_numbers.employee_number
    inner join segment_numbers
        on piece_months.segment_number = segment_numbers.segment_number

),

-- The leaver counts in the segment of the last day worked and the month of the termination.
leaver_events as (

    select
        employee_key,
        segment_key,
        termination_month_start_date as month_start_date,
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
    where pieces.is_coverage = true

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

flow_events as (

    select * from leaver_events
    union all
    select * from transfer_events

),

flow_months as (

    select
        employee_key,
        month_start_date,
        segment_key,
        max(exit_reason_code) as exit_reason_code,
        max(exit_initiative) as exit_initiative,
        cast(sum(leavers) as {{ dbt.type_bigint() }}) as leavers,
        cast(sum(voluntary_leavers) as {{ dbt.type_bigint() }}) as voluntary_leavers,
        cast(sum(regretted_leavers) as {{ dbt.type_bigint() }}) as regretted_leavers,
        cast(sum(transfers_in) as {{ dbt.type_bigint() }}) as transfers_in,
        cast(sum(transfers_out) as {{ dbt.type_bigint() }}) as transfers_out,
        cast(sum(tenure_days_at_exit) as {{ dbt.type_bigint() }}) as tenure_days_at_exit
    from flow_events
    group by employee_key, month_start_date, segment_key

),

-- Numbered as the pieces are (a key with no number has no piece either), so that the full join
-- and the closing sort compare whole numbers, not 64- and 32-character keys.
flow_months_numbered as (

    select
        employee_numbers.employee_number,
        segment_numbers.segment_number,
        flow_months.*
    from flow_months
    left join employee_numbers
        on flow_months.employee_key = employee_numbers.employee_key
    left join segment_numbers
        on flow_months.segment_key = segment_numbers.segment_key

),

-- A transfer out on the first of a month falls in a segment with no days that month: a flow
-- without a piece, hence the full join.
final as (

    select
        coalesce(pieces.segment_number, flows.segment_number) as segment_number,
        coalesce(pieces.employee_number, flows.employee_number) as employee_number,
        coalesce(pieces.employee_key, flows.employee_key) as employee_key,
        coalesce(pieces.month_start_date, flows.month_start_date) as month_start_date,
        coalesce(pieces.segment_key, flows.segment_key) as segment_key,
        flows.exit_reason_code,
        flows.exit_initiative,
        coalesce(pieces.employed_days, 0) as employed_days,
        coalesce(pieces.fte_days, 0) as fte_days,
        coalesce(pieces.headcount_at_month_end, 0) as headcount_at_month_end,
        coalesce(pieces.fte_at_month_end, 0) as fte_at_month_end,
        coalesce(pieces.hires, 0) as hires,
        coalesce(flows.leavers, 0) as leavers,
        coalesce(flows.voluntary_leavers, 0) as voluntary_leavers,
        coalesce(flows.regretted_leavers, 0) as regretted_leavers,
        coalesce(pieces.internal_moves, 0) as internal_moves,
        coalesce(flows.transfers_in, 0) as transfers_in,
        coalesce(flows.transfers_out, 0) as transfers_out,
        coalesce(flows.tenure_days_at_exit, 0) as tenure_days_at_exit
    from piece_months_keyed as pieces
    full outer join flow_months_numbered as flows
        on pieces.employee_number = flows.employee_number
        and pieces.month_start_date = flows.month_start_date
        and pieces.segment_number = flows.segment_number

)

-- Stored in segment order: the segment key is a 32-character hash, random to a compressor unless
-- equal keys sit together. Sorted, the table takes a third of the space in the warehouse, the
-- serving copy and the Parquet export (a tenth there) -- what made a million-employee night
-- fit on the disk (DECISIONS.md, 2026-12-02). Sorted on the keys' numbers, given in key order:
-- the same order, whole numbers compared (100,000 employees: 22-25 s for the model, 26-32 s
-- sorting on the text keys).
select
    employee_key,
    month_start_date,
    segment_key,
    exit_reason_code,
    exit_initiative,
    employed_days,
    fte_days,
    headcount_at_month_end,
    fte_at_month_end,
    hires,
    leavers,
    voluntary_leavers,
    regretted_leavers,
    internal_moves,
    transfers_in,
    transfers_out,
    tenure_days_at_exit
from final
order by segment_number, month_start_date, employee_number
