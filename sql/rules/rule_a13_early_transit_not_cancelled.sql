/* ---
kind: keyed
tags: [rules, logistics]
rule:
  id: A13
  name_zh: 提前报关转关数据逾期未撤销
  name_en: Unused early-declared transit not cancelled within the limit
  category: a
  area: transit
  object_type: transits
  detects: >
    early-declared transit data whose goods never moved, not cancelled within
    5 calendar days of filing
  grading: days since filing up to 10 yellow, up to 30 orange, more red
  basis: 转关管理办法
  method: >
    An early declaration is unused while it has neither an arrival limit (set
    when the goods move) nor an arrival. The limit ends 5 calendar days after
    the filing day (counted from the day after); a limit ending on a day off
    moves to the next working day. A cancellation after the limit is measured
    to the cancellation day, data still standing to the as-of date; the
    colour grades the days since filing.
params: [a13_limit_cd, a13_yellow_max_days, a13_orange_max_days]
parameters:
  - name: a13_limit_cd
    default: 5
    unit: calendar days
    rules: [A13]
    description: unused early-declared transit data is cancelled within this many days of filing
  - name: a13_yellow_max_days
    default: 10
    unit: calendar days
    rules: [A13]
    description: days since filing up to which data not cancelled is yellow
  - name: a13_orange_max_days
    default: 30
    unit: calendar days
    rules: [A13]
    description: days since filing up to which data not cancelled is orange; red beyond
tests:
  - unique: [object_key]
scope: |
  -- Unused early data not yet cancelled is measured to the as-of date (and
  -- its limit may pass any day), data cancelled since the last build to the
  -- cancellation; a changed transit, or one whose declaration (consignee) or
  -- officer (department) changed, again.
  SELECT transit_no FROM stg_transits
      WHERE mode = 'early_declaration' AND arrival_limit IS NULL AND arrived_at IS NULL
        AND (cancelled_at IS NULL OR cancelled_at >= getvariable('changed_since'))
  UNION ALL SELECT transit_no FROM changed.transits
  UNION ALL SELECT transit_no FROM stg_transits WHERE decl_no IN (SELECT decl_no FROM diff.declarations WHERE consignee_code)
  UNION ALL SELECT transit_no FROM stg_transits WHERE officer_id IN (SELECT officer_id FROM changed.officers)
--- */
WITH unused AS (
    SELECT
        t.transit_no, t.decl_no, t.departure_customs, t.destination_customs, t.officer_id,
        t.filed_at, t.cancelled_at,
        CAST(t.filed_at AS DATE) AS filed_on,
        -- data not yet cancelled (least() skips the NULL) is measured to the as-of date
        least(CAST(t.cancelled_at AS DATE), getvariable('as_of')) AS measured_to
    FROM stg_transits AS t
    WHERE t.mode = 'early_declaration'
      AND t.arrival_limit IS NULL
      AND t.arrived_at IS NULL
      AND t.transit_no IN (SELECT key FROM scope)
),
transits AS (
    SELECT u.*, lim.next_workday AS limit_day
    FROM unused AS u
    JOIN dim_date AS lim ON lim.date = u.filed_on + getvariable('a13_limit_cd')
)
SELECT
    '1' AS rule_version,
    t.transit_no AS object_key,
    t.officer_id,
    o.dept_id,
    d.consignee_code AS ent_code,
    CASE
        WHEN t.measured_to - t.filed_on <= getvariable('a13_yellow_max_days') THEN 'yellow'
        WHEN t.measured_to - t.filed_on <= getvariable('a13_orange_max_days') THEN 'orange'
        ELSE 'red'
    END AS colour,
    t.measured_to - t.filed_on AS metric,
    CAST(NULL AS DECIMAL(18, 2)) AS amount,
    json_object('decl_no', t.decl_no, 'departure_customs', t.departure_customs,
                'destination_customs', t.destination_customs, 'filed_at', t.filed_at, 'limit_day', t.limit_day,
                'cancelled_at', t.cancelled_at, 'days_since_filing', t.measured_to - t.filed_on) AS evidence,
    t.limit_day + 1 AS first_due,
    '' AS period
FROM transits AS t
LEFT JOIN stg_officers AS o ON o.officer_id = t.officer_id
LEFT JOIN int_declaration_consignees AS d ON d.decl_no = t.decl_no
WHERE t.measured_to > t.limit_day
