-- One row per employee, month and segment with sick leave: the verzuim numerator (sick days x
-- incapacity % x part-time factor on the day, summed over the pieces the sick days fall in)
-- and the calendar days sick and on pregnancy leave. No employee x day table: absence segments
-- are intersected with the day-exact workforce pieces.
with

segments as (

    select * from {{ ref('int_absence_segments_clipped') }}
    where employment_period_key is not null
        and segment_to >= segment_from

),

pieces as (

    select * from {{ ref('int_workforce_pieces_split') }}

),

sick_piece_overlaps as (

    select
        pieces.employee_key,
        pieces.month_start_date,
        pieces.segment_key,
        pieces.is_coverage,
        pieces.parttime_factor,
        segments.absence_type,
        segments.incapacity_pct,
        {{ dbt.datediff(
            'case when segments.segment_from > pieces.sub_from then segments.segment_from '
            ~ 'else pieces.sub_from end',
            'case when segments.segment_to < pieces.sub_to then segments.segment_to '
            ~ 'else pieces.sub_to end',
            'day') }} + 1 as days
    from segments
    inner join pieces
        on segments.employment_period_key = pieces.employment_period_key
        and segments.segment_from <= pieces.sub_to
        and segments.segment_to >= pieces.sub_from

),

final as (

    select
        employee_key,
        month_start_date,
        segment_key,
        cast(sum(
            case
                when absence_type = 'sick'
                    then days * incapacity_pct / 100 * parttime_factor
                else 0
            end
        ) as {{ type_fte() }}) as sick_fte_days,
        cast(sum(case when is_coverage and absence_type = 'sick' then days else 0 end)
            as {{ dbt.type_bigint() }}) as sick_days,
        cast(sum(
            case when is_coverage and absence_type = 'pregnancy_leave' then days else 0 end
        ) as {{ dbt.type_bigint() }}) as pregnancy_leave_days
    from sick_piece_overlaps
    group by employee_key, month_start_date, segment_key

)

select * from final
