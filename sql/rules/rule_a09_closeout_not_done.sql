/* ---
kind: keyed
tags: [rules, processing_trade]
rule:
  id: A09
  name_zh: 加工贸易手册逾期未核销
  name_en: Processing-trade manual not closed out within the limit
  category: a
  area: processing trade
  object_type: manuals
  detects: >
    a manual whose close-out filing was accepted but not closed out (核销)
    within 30 calendar days of the acceptance, 60 with an approved extension
  grading: days late up to 15 yellow, up to 30 orange, more red
  basis: 加工贸易货物监管办法
  method: >
    The limit ends 30 calendar days after the acceptance of the close-out
    filing (60 when an extension is approved), counted from the day after; a
    limit ending on a day off moves to the next working day. Days late count
    the calendar days after the limit up to the close-out, or up to the as-of
    date while the manual is still open.
params: [a09_limit_cd, a09_extended_limit_cd, a09_yellow_max_days, a09_orange_max_days]
parameters:
  - name: a09_limit_cd
    default: 30
    unit: calendar days
    rules: [A09]
    description: a manual is closed out within this many days of the acceptance of its close-out filing
  - name: a09_extended_limit_cd
    default: 60
    unit: calendar days
    rules: [A09]
    description: the close-out limit when an extension is approved
  - name: a09_yellow_max_days
    default: 15
    unit: calendar days
    rules: [A09]
    description: days late up to which a close-out is yellow
  - name: a09_orange_max_days
    default: 30
    unit: calendar days
    rules: [A09]
    description: days late up to which a close-out is orange; red beyond
tests:
  - unique: [object_key]
scope: |
  -- A filing accepted since the last build enters the rule; an accepted manual
  -- not yet closed is measured to the as-of date (and its limit may pass any
  -- day), one closed since the last build to its close-out; a changed manual,
  -- or one whose officer (department) changed, again.
  SELECT manual_no FROM stg_manuals WHERE closeout_accepted_on >= getvariable('changed_since')
  UNION ALL SELECT manual_no FROM stg_manuals
      WHERE closeout_accepted_on IS NOT NULL AND (closed_on IS NULL OR closed_on >= getvariable('changed_since'))
  UNION ALL SELECT manual_no FROM changed.manuals
  UNION ALL SELECT manual_no FROM stg_manuals WHERE officer_id IN (SELECT officer_id FROM changed.officers)
--- */
WITH accepted AS (
    SELECT
        m.manual_no, m.ent_code, m.officer_id, m.closeout_filed_on, m.closeout_accepted_on, m.closed_on,
        coalesce(m.extension_approved, false) AS extension_approved,
        CASE WHEN m.extension_approved THEN getvariable('a09_extended_limit_cd') ELSE getvariable('a09_limit_cd') END AS limit_cd
    FROM stg_manuals AS m
    WHERE m.closeout_accepted_on <= getvariable('as_of')
      AND m.manual_no IN (SELECT key FROM scope)
),
manuals AS (
    SELECT
        a.*,
        lim.next_workday AS limit_day,
        -- a manual not yet closed (least() skips the NULL) is measured to the as-of date
        least(a.closed_on, getvariable('as_of')) AS measured_to
    FROM accepted AS a
    JOIN dim_date AS lim ON lim.date = a.closeout_accepted_on + a.limit_cd
)
SELECT
    '1' AS rule_version,
    m.manual_no AS object_key,
    m.officer_id,
    o.dept_id,
    m.ent_code,
    CASE
        WHEN m.measured_to - m.limit_day <= getvariable('a09_yellow_max_days') THEN 'yellow'
        WHEN m.measured_to - m.limit_day <= getvariable('a09_orange_max_days') THEN 'orange'
        ELSE 'red'
    END AS colour,
    m.measured_to - m.limit_day AS metric,
    CAST(NULL AS DECIMAL(18, 2)) AS amount,
    json_object('closeout_filed_on', m.closeout_filed_on, 'closeout_accepted_on', m.closeout_accepted_on,
                'extension_approved', m.extension_approved, 'limit_cd', m.limit_cd, 'limit_day', m.limit_day,
                'closed_on', m.closed_on, 'days_late', m.measured_to - m.limit_day) AS evidence,
    m.limit_day + 1 AS first_due,
    '' AS period
FROM manuals AS m
LEFT JOIN stg_officers AS o ON o.officer_id = m.officer_id
WHERE m.measured_to > m.limit_day
