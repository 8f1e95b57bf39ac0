/* ---
kind: keyed
tags: [rules, logistics]
rule:
  id: A12
  name_zh: 转关货物逾期未核销
  name_en: Transit not closed by the arrival limit
  category: a
  area: transit
  object_type: transits
  detects: a transit not closed by the arrival limit customs set for it
  grading: days overdue up to 3 yellow, up to 10 orange, more red
  basis: 转关管理办法
  method: >
    The arrival limit is a date customs set, not a count of calendar days, so
    it does not move. Days overdue count the calendar days after the limit up
    to the day the transit was closed, or up to the as-of date while it is
    open. Cancelled transits and early declarations whose goods never moved
    (no arrival limit) are not measured.
params: [a12_yellow_max_days, a12_orange_max_days]
parameters:
  - name: a12_yellow_max_days
    default: 3
    unit: calendar days
    rules: [A12]
    description: days overdue up to which a transit not closed is yellow
  - name: a12_orange_max_days
    default: 10
    unit: calendar days
    rules: [A12]
    description: days overdue up to which a transit not closed is orange; red beyond
tests:
  - unique: [object_key]
scope: |
  -- A measured transit not yet closed is measured to the as-of date (and its
  -- arrival limit may pass any day), one closed since the last build to its
  -- closing; a changed transit, or one whose declaration (consignee) or
  -- officer (department) changed, again.
  SELECT transit_no FROM stg_transits
      WHERE arrival_limit IS NOT NULL AND cancelled_at IS NULL
        AND (closed_at IS NULL OR closed_at >= getvariable('changed_since'))
  UNION ALL SELECT transit_no FROM changed.transits
  UNION ALL SELECT transit_no FROM stg_transits WHERE decl_no IN (SELECT decl_no FROM diff.declarations WHERE consignee_code)
  UNION ALL SELECT transit_no FROM stg_transits WHERE officer_id IN (SELECT officer_id FROM changed.officers)
--- */
WITH transits AS (
    SELECT
        t.transit_no, t.decl_no, t.mode, t.departure_customs, t.destination_customs, t.officer_id,
        t.filed_at, t.arrival_limit, t.arrived_at, t.closed_at,
        -- a transit not yet closed (least() skips the NULL) is measured to the as-of date
        least(CAST(t.closed_at AS DATE), getvariable('as_of')) AS measured_to
    FROM stg_transits AS t
    WHERE t.arrival_limit IS NOT NULL
      AND t.cancelled_at IS NULL
      AND t.transit_no IN (SELECT key FROM scope)
)
SELECT
    '1' AS rule_version,
    t.transit_no AS object_key,
    t.officer_id,
    o.dept_id,
    d.consignee_code AS ent_code,
    CASE
        WHEN t.measured_to - t.arrival_limit <= getvariable('a12_yellow_max_days') THEN 'yellow'
        WHEN t.measured_to - t.arrival_limit <= getvariable('a12_orange_max_days') THEN 'orange'
        ELSE 'red'
    END AS colour,
    t.measured_to - t.arrival_limit AS metric,
    CAST(NULL AS DECIMAL(18, 2)) AS amount,
    json_object('decl_no', t.decl_no, 'mode', t.mode, 'departure_customs', t.departure_customs,
                'destination_customs', t.destination_customs, 'filed_at', t.filed_at,
                'arrival_limit', t.arrival_limit, 'arrived_at', t.arrived_at, 'closed_at', t.closed_at,
                'days_overdue', t.measured_to - t.arrival_limit) AS evidence,
    t.arrival_limit + 1 AS first_due,
    '' AS period
FROM transits AS t
LEFT JOIN stg_officers AS o ON o.officer_id = t.officer_id
LEFT JOIN int_declaration_consignees AS d ON d.decl_no = t.decl_no
WHERE t.measured_to > t.arrival_limit
