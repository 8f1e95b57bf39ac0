/* ---
kind: keyed
tags: [rules, clearance]
rule:
  id: A25
  name_zh: 人工审单超时
  name_en: Manual review of a declaration over its limit
  category: a
  area: clearance
  object_type: declarations
  detects: the manual review of a declaration not finished within 24 working hours of its routing to manual review
  grading: working hours taken from 1× the limit yellow, from 2× orange, from 4× red
  basis: internal control
  method: >
    The review runs from the auto review's routing to manual review (the
    auto_review step with outcome manual) to the first manual_review step, or
    to the end of the as-of day while it is still open (a declaration
    cancelled before review is not counted). Working hours are the standard
    duty hours 08:30–17:30 of working days, whatever shift the reviewer works:
    the roster says when an officer is there, not how long a step may take.
    A review taking more than the limit is due on the day its last working
    hour runs out, and is graded by the working hours taken (so far).
params: [a25_limit_hours, a25_orange_multiple, a25_red_multiple, duty_start, duty_end]
parameters:
  - name: a25_limit_hours
    default: 24
    unit: working hours
    rules: [A25]
    description: a manual review is finished within this many working hours of its routing
  - name: a25_orange_multiple
    default: 2
    unit: times the limit
    rules: [A25]
    description: a review taking this many times the limit or more is orange
  - name: a25_red_multiple
    default: 4
    unit: times the limit
    rules: [A25]
    description: a review taking this many times the limit or more is red
tests:
  - unique: [object_key]
scope: |
  -- A review still open (routed to manual review, no manual review yet) is
  -- measured to the end of the as-of day, and a routing or review step
  -- recorded ahead of its time comes within it; a declaration whose routing
  -- or review steps changed (a tombstone's replaced version names its
  -- declaration), or whose declaration (status, consignee) or reviewer
  -- (department) changed, again.
  -- (Open: routed up to the as-of date and no first reviewer yet, both from
  -- int_declaration_handlers; a review by no officer leaves the declaration
  -- in scope, which is only more work.)
  SELECT decl_no FROM int_declaration_handlers WHERE routed_at IS NOT NULL AND reviewer_id IS NULL
  UNION ALL SELECT decl_no FROM stg_declaration_events
  WHERE step IN ('auto_review', 'manual_review') AND occurred_at >= getvariable('changed_since')
  UNION ALL SELECT decl_no FROM changed.declaration_events WHERE step IN ('auto_review', 'manual_review')
  UNION ALL SELECT decl_no FROM changed.declarations
  UNION ALL SELECT decl_no FROM stg_declaration_events
  WHERE step = 'manual_review' AND officer_id IN (SELECT officer_id FROM changed.officers)
--- */
WITH routed AS (
    SELECT decl_no, occurred_at AS routed_at, dept_id AS routing_dept_id
    FROM stg_declaration_events
    WHERE step = 'auto_review'
      AND outcome = 'manual'
      AND occurred_at < getvariable('as_of_end')
      AND decl_no IN (SELECT key FROM scope)
    QUALIFY row_number() OVER (PARTITION BY decl_no ORDER BY occurred_at DESC, event_id DESC) = 1
),
reviewed AS (
    SELECT decl_no, occurred_at AS reviewed_at, officer_id, dept_id
    FROM stg_declaration_events
    WHERE step = 'manual_review'
      AND occurred_at < getvariable('as_of_end')
      AND decl_no IN (SELECT key FROM scope)
    QUALIFY row_number() OVER (PARTITION BY decl_no ORDER BY occurred_at, event_id) = 1
),
reviews AS (
    SELECT
        t.decl_no, t.routed_at, t.routing_dept_id, r.reviewed_at, r.officer_id, r.dept_id AS review_dept_id,
        coalesce(r.reviewed_at, getvariable('as_of_end')) AS measured_to
    FROM routed AS t
    LEFT JOIN reviewed AS r ON r.decl_no = t.decl_no
    JOIN stg_declarations AS d ON d.decl_no = t.decl_no
    WHERE r.reviewed_at IS NOT NULL OR d.status IS DISTINCT FROM 'cancelled'
),
-- The contract's default duty hours of a working day, in seconds from midnight.
duty AS (
    SELECT
        CAST(epoch(DATE '2000-01-01' + CAST(getvariable('duty_start') AS TIME)) - epoch(TIMESTAMP '2000-01-01') AS BIGINT) AS start_s,
        CAST(epoch(DATE '2000-01-01' + CAST(getvariable('duty_end') AS TIME)) - epoch(DATE '2000-01-01' + CAST(getvariable('duty_start') AS TIME)) AS BIGINT) AS day_s
),
-- Working seconds on a clock that runs only in those hours on working days,
-- read at each end of the review: the working days before the day in full,
-- plus the part of the day's duty hours already gone.
clock AS (
    SELECT
        v.decl_no, v.routed_at, v.routing_dept_id, v.reviewed_at, v.officer_id, v.review_dept_id, v.measured_to,
        h.day_s,
        h.day_s * (a.workday_index - CAST(a.is_workday AS INTEGER))
            + CASE WHEN a.is_workday THEN least(greatest(epoch(v.routed_at) - epoch(CAST(a.date AS TIMESTAMPTZ)) - h.start_s, 0), h.day_s) ELSE 0 END
            AS routed_clock,
        h.day_s * (b.workday_index - CAST(b.is_workday AS INTEGER))
            + CASE WHEN b.is_workday THEN least(greatest(epoch(v.measured_to) - epoch(CAST(b.date AS TIMESTAMPTZ)) - h.start_s, 0), h.day_s) ELSE 0 END
            AS measured_clock
    FROM reviews AS v
    CROSS JOIN duty AS h
    JOIN dim_date AS a ON a.date = CAST(v.routed_at AS DATE)
    JOIN dim_date AS b ON b.date = CAST(v.measured_to AS DATE)
),
late AS (
    SELECT
        *,
        (measured_clock - routed_clock) / 3600.0 AS hours_taken,
        -- The limit runs out on the working day whose duty hours hold its last second.
        CAST(floor((routed_clock + getvariable('a25_limit_hours') * 3600) / day_s) AS BIGINT) + 1 AS due_index
    FROM clock
    WHERE measured_clock - routed_clock > getvariable('a25_limit_hours') * 3600
)
SELECT
    '1' AS rule_version,
    l.decl_no AS object_key,
    l.officer_id,
    -- The reviewer's department; the routing step's while the review is open.
    coalesce(l.review_dept_id, o.dept_id, l.routing_dept_id) AS dept_id,
    d.consignee_code AS ent_code,
    CASE
        WHEN l.hours_taken >= getvariable('a25_red_multiple') * getvariable('a25_limit_hours') THEN 'red'
        WHEN l.hours_taken >= getvariable('a25_orange_multiple') * getvariable('a25_limit_hours') THEN 'orange'
        ELSE 'yellow'
    END AS colour,
    round(l.hours_taken, 2) AS metric,
    CAST(NULL AS DECIMAL(18, 2)) AS amount,
    json_object('routed_at', l.routed_at, 'reviewed_at', l.reviewed_at, 'working_hours', round(l.hours_taken, 2),
                'limit_hours', getvariable('a25_limit_hours')) AS evidence,
    due.date AS first_due,
    '' AS period
FROM late AS l
JOIN dim_date AS due ON due.workday_index = l.due_index AND due.is_workday
LEFT JOIN stg_declarations AS d ON d.decl_no = l.decl_no
LEFT JOIN stg_officers AS o ON o.officer_id = l.officer_id
