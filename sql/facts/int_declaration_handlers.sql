/* ---
kind: keyed
tags: [facts, clearance]
description: >
  Who handled each declaration: the first officer (and the department the
  event names) of each step that rules hold someone answerable for — manual
  review, tariff review (taxes and fees confirmed), release — read in one
  pass over the events, so the rules that need them do not each rescan.
  fee_officer is the tariff reviewer, else the manual reviewer: acceptance is
  a system step, so they answer for fees and levies. routed_at is when the
  auto review last routed it to manual review, so the reviews still open
  (routed, no reviewer yet) are read from here, not from a year of events.
unique_key: decl_no
tests:
  - unique: [decl_no]
  - not_null: [decl_no]
scope: |
  -- A declaration whose handling or routing events changed (a tombstone's
  -- replaced version names the step and declaration it was), or whose event
  -- of those steps recorded ahead of its time comes within the as-of date.
  SELECT decl_no FROM changed.declaration_events WHERE step IN ('auto_review', 'manual_review', 'tariff_review', 'release')
  UNION ALL SELECT decl_no FROM stg_declaration_events
  WHERE step IN ('auto_review', 'manual_review', 'tariff_review', 'release') AND occurred_at >= getvariable('changed_since')
--- */
-- The events of the declarations in scope, looked up once by declaration
-- (they changed lately, so the look-up reads their recent row groups only).
WITH events AS (
    SELECT decl_no, step, outcome, officer_id, dept_id, occurred_at, event_id
    FROM lookup_declaration_events_by_decl_no((SELECT list(key) FROM scope))
    WHERE step IN ('auto_review', 'manual_review', 'tariff_review', 'release')
      AND occurred_at < getvariable('as_of_end')
),
steps AS (
    SELECT
        decl_no, step, officer_id, dept_id,
        row_number() OVER (PARTITION BY decl_no, step ORDER BY occurred_at, event_id) AS nth
    FROM events
    WHERE step IN ('manual_review', 'tariff_review', 'release')
      AND officer_id IS NOT NULL
),
firsts AS (
    SELECT
        decl_no,
        any_value(officer_id) FILTER (WHERE step = 'manual_review') AS reviewer_id,
        any_value(dept_id) FILTER (WHERE step = 'manual_review') AS reviewer_dept_id,
        any_value(officer_id) FILTER (WHERE step = 'tariff_review') AS tariff_reviewer_id,
        any_value(dept_id) FILTER (WHERE step = 'tariff_review') AS tariff_reviewer_dept_id,
        any_value(officer_id) FILTER (WHERE step = 'release') AS releaser_id,
        any_value(dept_id) FILTER (WHERE step = 'release') AS releaser_dept_id
    FROM steps
    WHERE nth = 1
    GROUP BY decl_no
),
routed AS (
    SELECT decl_no, max(occurred_at) AS routed_at
    FROM events
    WHERE step = 'auto_review' AND outcome = 'manual'
    GROUP BY decl_no
)
SELECT
    coalesce(f.decl_no, r.decl_no) AS decl_no,
    f.* EXCLUDE (decl_no),
    coalesce(f.tariff_reviewer_id, f.reviewer_id) AS fee_officer_id,
    CASE WHEN f.tariff_reviewer_id IS NOT NULL THEN f.tariff_reviewer_dept_id ELSE f.reviewer_dept_id END AS fee_officer_dept_id,
    r.routed_at
FROM firsts AS f
FULL JOIN routed AS r ON r.decl_no = f.decl_no
