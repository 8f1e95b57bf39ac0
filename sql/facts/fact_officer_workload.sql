/* ---
kind: incremental
partition_by: work_date
lookback: 92
params: [duty_start, duty_end]
publish: true
tags: [facts, workload]
description: >
  Basic business information (基本业务信息), per officer per day: the
  declarations the officer accepted, reviewed (manual or tariff review),
  returned, inspected, released and modified (modify or cancel decisions);
  the median and 90th-percentile handling minutes of each step, from the
  declaration's previous event (strictly earlier) to the step; the officer's
  operations on declarations, and those outside the officer's duty hours;
  and the control orders the officer cancelled. One partition per day (the
  local date of the events and cancellations), computed from the events
  that occurred on it (and, for handling times, the earlier events of the
  same declarations). The lookback of 92 days keeps a quarter of daily
  figures filled from the first run on, for the workload trends of the
  quarterly evaluation and the daily prompt; afterwards a night builds only
  the missing days. A day once built is kept: an event that arrives after
  its day's partition was built counts only when that day is built again
  (the as-of day by a recompute, the window by a full refresh). dept_id and
  post are the officer's at the end of the day (dim_officer), so a transfer
  within the window splits the officer's days between the two departments.
  Officers with no operation on a day have no row for it.
  Duty hours are the officer's roster shift (a shift that runs past midnight
  covers the small hours of the next day), else 08:30-17:30 on working days
  when the officer has no roster row for the day.
tests:
  - unique: [work_date, officer_id]
  - not_null: [work_date, officer_id, operations, operations_off_duty, orders_cancelled, accepted, reviewed, returned, inspected, released, modified]
  - expression: operations_off_duty <= operations
--- */
WITH window_events AS (
    SELECT event_id, decl_no, step, officer_id, occurred_at, CAST(occurred_at AS DATE) AS work_date
    FROM stg_declaration_events
    WHERE (occurred_at >= getvariable('partition_from') AND occurred_at < getvariable('as_of_end'))
      AND officer_id IS NOT NULL
),
-- The earlier events of the declarations the officers touched, for handling times.
touched_history AS (
    SELECT h.decl_no, h.occurred_at
    FROM lookup_declaration_events_by_decl_no((SELECT list(DISTINCT decl_no) FROM window_events)) AS h
    WHERE h.occurred_at < getvariable('as_of_end')
),
previous AS (
    SELECT e.event_id, max(h.occurred_at) AS previous_at
    FROM window_events AS e
    JOIN touched_history AS h ON h.decl_no = e.decl_no AND h.occurred_at < e.occurred_at
    GROUP BY e.event_id
),
officer_events AS (
    SELECT
        e.event_id, e.decl_no, e.step, e.officer_id, e.occurred_at, e.work_date,
        date_diff('second', p.previous_at, e.occurred_at) / 60.0 AS handling_minutes
    FROM window_events AS e
    LEFT JOIN previous AS p USING (event_id)
),
-- Roster shifts that may cover a day of the window: the day's, and the day
-- before's running past midnight.
shifts AS (
    SELECT officer_id, duty_date, shift_start, shift_end
    FROM stg_duty_roster
    WHERE duty_date BETWEEN getvariable('partition_from') - 1 AND getvariable('as_of')
),
on_duty AS (
    SELECT
        e.event_id,
        EXISTS (
            SELECT 1 FROM shifts AS s
            WHERE s.officer_id = e.officer_id
              AND s.duty_date BETWEEN e.work_date - 1 AND e.work_date
              AND e.occurred_at >= s.shift_start AND e.occurred_at < s.shift_end
        )
        -- Without a roster row for the day: the contract's default hours on working days.
        OR (
            NOT EXISTS (SELECT 1 FROM shifts AS s WHERE s.officer_id = e.officer_id AND s.duty_date = e.work_date)
            AND t.is_workday
            AND e.occurred_at >= CAST(t.date + CAST(getvariable('duty_start') AS TIME) AS TIMESTAMPTZ)
            AND e.occurred_at < CAST(t.date + CAST(getvariable('duty_end') AS TIME) AS TIMESTAMPTZ)
        ) AS on_duty
    FROM officer_events AS e
    JOIN dim_date AS t ON t.date = e.work_date
),
event_figures AS (
    SELECT
        e.work_date,
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
    GROUP BY e.work_date, e.officer_id
),
cancellations AS (
    SELECT CAST(cancelled_at AS DATE) AS work_date, cancelled_by AS officer_id, count(*) AS orders_cancelled
    FROM stg_control_orders
    WHERE (cancelled_at >= getvariable('partition_from') AND cancelled_at < getvariable('as_of_end'))
      AND cancelled_by IS NOT NULL
    GROUP BY ALL
)
SELECT
    work_date,
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
FULL JOIN cancellations AS c USING (work_date, officer_id)
-- The officer's department and post at the end of the day, as a run on that day saw them.
LEFT JOIN dim_officer AS o
    ON o.officer_id = officer_id
   AND o.valid_from < CAST(work_date + 1 AS TIMESTAMPTZ)
   AND (o.valid_to IS NULL OR o.valid_to >= CAST(work_date + 1 AS TIMESTAMPTZ))
