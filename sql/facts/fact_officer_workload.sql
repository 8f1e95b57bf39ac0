/* ---
kind: incremental
partition_by: work_date
publish: true
tags: [facts, workload]
description: >
  Basic business information (基本业务信息), per officer per day: the
  declarations the officer accepted, reviewed (manual or tariff review),
  returned, inspected, released and modified (modify or cancel decisions);
  the median and 90th-percentile handling minutes of each step, from the
  declaration's previous event (strictly earlier) to the step; the officer's
  operations on declarations, and those outside the officer's duty hours;
  and the control orders the officer cancelled. The as-of date's partition
  holds that day's figures, computed from the events that occurred on it
  (and, for handling times, the earlier events of the same declarations),
  so a daily run reads one day; an event that arrives after its day's
  partition was built counts when the day is recomputed. Officers with no
  operation on the day have no row.
  Duty hours are the officer's roster shift (a shift that runs past midnight
  covers the small hours of the next day), else 08:30-17:30 on working days
  when the officer has no roster row for the day.
tests:
  - unique: [work_date, officer_id]
  - not_null: [work_date, officer_id, operations, operations_off_duty, orders_cancelled, accepted, reviewed, returned, inspected, released, modified]
  - expression: operations_off_duty <= operations
--- */
WITH day_events AS (
    SELECT event_id, decl_no, step, officer_id, occurred_at
    FROM stg_declaration_events
    WHERE occurred_at >= CAST(getvariable('as_of') AS TIMESTAMPTZ)
      AND occurred_at < getvariable('as_of_end')
),
-- The earlier events of the declarations touched today, for handling times.
touched_history AS (
    SELECT h.decl_no, h.occurred_at
    FROM stg_declaration_events AS h
    WHERE h.decl_no IN (SELECT decl_no FROM day_events WHERE officer_id IS NOT NULL)
      AND h.occurred_at < getvariable('as_of_end')
),
previous AS (
    SELECT e.event_id, max(h.occurred_at) AS previous_at
    FROM day_events AS e
    JOIN touched_history AS h ON h.decl_no = e.decl_no AND h.occurred_at < e.occurred_at
    WHERE e.officer_id IS NOT NULL
    GROUP BY e.event_id
),
officer_events AS (
    SELECT
        e.event_id, e.decl_no, e.step, e.officer_id, e.occurred_at,
        date_diff('second', p.previous_at, e.occurred_at) / 60.0 AS handling_minutes
    FROM day_events AS e
    LEFT JOIN previous AS p USING (event_id)
    WHERE e.officer_id IS NOT NULL
),
-- Roster shifts that may cover today: today's, and yesterday's running past midnight.
shifts AS (
    SELECT officer_id, duty_date, shift_start, shift_end
    FROM stg_duty_roster
    WHERE duty_date BETWEEN getvariable('as_of') - 1 AND getvariable('as_of')
),
today AS (
    SELECT date, is_workday FROM dim_date WHERE date = getvariable('as_of')
),
on_duty AS (
    SELECT
        e.event_id,
        EXISTS (
            SELECT 1 FROM shifts AS s
            WHERE s.officer_id = e.officer_id AND e.occurred_at >= s.shift_start AND e.occurred_at < s.shift_end
        )
        -- Without a roster row for the day: the contract's 08:30-17:30 on working days.
        OR (
            NOT EXISTS (SELECT 1 FROM shifts AS s WHERE s.officer_id = e.officer_id AND s.duty_date = t.date)
            AND t.is_workday
            AND e.occurred_at >= CAST(t.date AS TIMESTAMPTZ) + INTERVAL 510 MINUTE
            AND e.occurred_at < CAST(t.date AS TIMESTAMPTZ) + INTERVAL 1050 MINUTE
        ) AS on_duty
    FROM officer_events AS e
    CROSS JOIN today AS t
),
event_figures AS (
    SELECT
        e.officer_id,
        count(*) AS operations,
        count(*) FILTER (WHERE NOT d.on_duty) AS operations_off_duty,
        count(DISTINCT e.decl_no) FILTER (WHERE e.step = 'accept') AS accepted,
        count(DISTINCT e.decl_no) FILTER (WHERE e.step IN ('manual_review', 'tariff_review')) AS reviewed,
        count(DISTINCT e.decl_no) FILTER (WHERE e.step = 'return') AS returned,
        count(DISTINCT e.decl_no) FILTER (WHERE e.step = 'inspection') AS inspected,
        count(DISTINCT e.decl_no) FILTER (WHERE e.step = 'release') AS released,
        count(DISTINCT e.decl_no) FILTER (WHERE e.step IN ('modify_decision', 'cancel_decision')) AS modified,
        median(e.handling_minutes) FILTER (WHERE e.step IN ('manual_review', 'tariff_review')) AS review_median_minutes,
        quantile_cont(e.handling_minutes, 0.9) FILTER (WHERE e.step IN ('manual_review', 'tariff_review')) AS review_p90_minutes,
        median(e.handling_minutes) FILTER (WHERE e.step = 'inspection') AS inspection_median_minutes,
        quantile_cont(e.handling_minutes, 0.9) FILTER (WHERE e.step = 'inspection') AS inspection_p90_minutes,
        median(e.handling_minutes) FILTER (WHERE e.step = 'release') AS release_median_minutes,
        quantile_cont(e.handling_minutes, 0.9) FILTER (WHERE e.step = 'release') AS release_p90_minutes,
        median(e.handling_minutes) FILTER (WHERE e.step IN ('modify_decision', 'cancel_decision')) AS modification_median_minutes,
        quantile_cont(e.handling_minutes, 0.9) FILTER (WHERE e.step IN ('modify_decision', 'cancel_decision')) AS modification_p90_minutes,
        median(e.handling_minutes) AS handling_median_minutes,
        quantile_cont(e.handling_minutes, 0.9) AS handling_p90_minutes
    FROM officer_events AS e
    JOIN on_duty AS d USING (event_id)
    GROUP BY e.officer_id
),
cancellations AS (
    SELECT cancelled_by AS officer_id, count(*) AS orders_cancelled
    FROM stg_control_orders
    WHERE cancelled_at >= CAST(getvariable('as_of') AS TIMESTAMPTZ)
      AND cancelled_at < getvariable('as_of_end')
      AND cancelled_by IS NOT NULL
    GROUP BY cancelled_by
)
SELECT
    getvariable('as_of') AS work_date,
    officer_id,
    o.dept_id,
    o.post,
    coalesce(f.operations, 0) AS operations,
    coalesce(f.operations_off_duty, 0) AS operations_off_duty,
    coalesce(f.accepted, 0) AS accepted,
    coalesce(f.reviewed, 0) AS reviewed,
    coalesce(f.returned, 0) AS returned,
    coalesce(f.inspected, 0) AS inspected,
    coalesce(f.released, 0) AS released,
    coalesce(f.modified, 0) AS modified,
    coalesce(c.orders_cancelled, 0) AS orders_cancelled,
    round(f.review_median_minutes, 1) AS review_median_minutes,
    round(f.review_p90_minutes, 1) AS review_p90_minutes,
    round(f.inspection_median_minutes, 1) AS inspection_median_minutes,
    round(f.inspection_p90_minutes, 1) AS inspection_p90_minutes,
    round(f.release_median_minutes, 1) AS release_median_minutes,
    round(f.release_p90_minutes, 1) AS release_p90_minutes,
    round(f.modification_median_minutes, 1) AS modification_median_minutes,
    round(f.modification_p90_minutes, 1) AS modification_p90_minutes,
    round(f.handling_median_minutes, 1) AS handling_median_minutes,
    round(f.handling_p90_minutes, 1) AS handling_p90_minutes
FROM event_figures AS f
FULL JOIN cancellations AS c USING (officer_id)
LEFT JOIN stg_officers AS o USING (officer_id)
