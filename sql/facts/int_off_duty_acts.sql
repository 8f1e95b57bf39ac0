/* ---
kind: keyed
tags: [facts, clearance]
description: >
  Approvals, releases and modification decisions done outside the
  officer's duty hours (B15's acts), one row per event. An act is on duty
  when a duty_roster shift of the officer (dated that day or the day
  before, for shifts past midnight) covers its time, or when the officer
  has no roster row that day, the day is a working day and the time is
  within the default hours duty_start to duty_end (start included, end
  excluded). Kept by event, so a night judges only the acts that are new or
  whose inputs changed, not every act of a year; the rules that count acts
  per officer read this small table.
unique_key: event_id
params: [duty_start, duty_end]
tests:
  - unique: [event_id]
  - not_null: [event_id, officer_id, occurred_at, act_on]
scope: |
  -- An act is judged again when its event changed (the replaced version of
  -- a changed or deleted event names it too, with the step it had, so an
  -- event that stopped being an act is judged again as well); when it is
  -- dated after the last build (had it landed earlier, the as-of date now
  -- admits it); or when a shift of its officer dated that day or the day
  -- before changed (the shift sets the hours). The default hours are
  -- parameters, which a change of re-evaluates everything. The declaration
  -- acted on does not matter here: the rules look up its tax themselves.
  SELECT event_id FROM changed.declaration_events
  WHERE step IN ('manual_review', 'tariff_review', 'fee_waiver', 'release', 'modify_decision', 'cancel_decision')
  UNION ALL
  SELECT event_id FROM stg_declaration_events
  WHERE step IN ('manual_review', 'tariff_review', 'fee_waiver', 'release', 'modify_decision', 'cancel_decision')
    AND occurred_at >= CAST(getvariable('changed_since') AS TIMESTAMPTZ)
  UNION ALL
  SELECT e.event_id FROM stg_declaration_events AS e
  JOIN changed.duty_roster AS r ON r.officer_id = e.officer_id
  WHERE e.step IN ('manual_review', 'tariff_review', 'fee_waiver', 'release', 'modify_decision', 'cancel_decision')
    AND e.occurred_at >= CAST(r.duty_date AS TIMESTAMPTZ)
    AND e.occurred_at < CAST(r.duty_date + 2 AS TIMESTAMPTZ)
--- */
WITH acts AS (
    SELECT
        e.event_id, e.decl_no, e.officer_id, e.step, e.occurred_at,
        CAST(e.occurred_at AS DATE) AS act_on
    FROM lookup_declaration_events((SELECT list(key) FROM scope)) AS e
    WHERE e.step IN ('manual_review', 'tariff_review', 'fee_waiver', 'release', 'modify_decision', 'cancel_decision')
      AND e.officer_id IS NOT NULL
      AND e.occurred_at < getvariable('as_of_end')
),
rostered AS (
    -- Shifts of the act's day and the day before, which may run past midnight.
    SELECT
        a.event_id,
        bool_or(r.shift_start <= a.occurred_at AND a.occurred_at < r.shift_end) AS in_shift,
        bool_or(r.duty_date = a.act_on) AS has_row
    FROM acts AS a
    JOIN stg_duty_roster AS r
        ON r.officer_id = a.officer_id
       AND r.duty_date BETWEEN a.act_on - 1 AND a.act_on
    GROUP BY a.event_id
)
SELECT
    a.event_id,
    a.decl_no,
    a.officer_id,
    a.step,
    a.occurred_at,
    a.act_on
FROM acts AS a
JOIN dim_date AS dd ON dd.date = a.act_on
LEFT JOIN rostered AS r ON r.event_id = a.event_id
WHERE NOT coalesce(r.in_shift, false)
  AND NOT (
      NOT coalesce(r.has_row, false)
      AND dd.is_workday
      -- A local date plus a time is a local timestamp: the session's zone places it.
      AND a.occurred_at >= CAST(a.act_on + CAST(getvariable('duty_start') AS TIME) AS TIMESTAMPTZ)
      AND a.occurred_at < CAST(a.act_on + CAST(getvariable('duty_end') AS TIME) AS TIMESTAMPTZ)
  )
