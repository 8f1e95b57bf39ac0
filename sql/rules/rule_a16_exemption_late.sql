/* ---
kind: keyed
tags: [rules, exemption]
rule:
  id: A16
  name_zh: 减免税确认超期
  name_en: Exemption confirmation later than the limit
  category: a
  area: exemption
  object_type: licences
  detects: an exemption confirmation given later than 10 working days after the application was accepted
  grading: working days past the limit up to 5 yellow, up to 10 orange, more red
  basis: 署令 245
  method: >
    Working days count from the working day after acceptance: the limit is the
    10th working day after the acceptance date. A confirmation given after
    that day is measured to the decision, an open application to the as-of
    date, in working days past the limit (the calendar's holidays and make-up
    working days included). The warning is due the day after the limit.
params: [a16_limit_wd, a16_yellow_max_wd, a16_orange_max_wd]
parameters:
  - name: a16_limit_wd
    default: 10
    unit: working days
    rules: [A16]
    description: an exemption confirmation is given within this many working days of acceptance
  - name: a16_yellow_max_wd
    default: 5
    unit: working days
    rules: [A16]
    description: working days past the limit up to which a late confirmation is yellow
  - name: a16_orange_max_wd
    default: 10
    unit: working days
    rules: [A16]
    description: working days past the limit up to which a late confirmation is orange; red beyond
tests:
  - unique: [object_key]
scope: |
  -- An open application is measured to the as-of date (and its limit may pass
  -- any day); one accepted since the last build enters the rule; a changed
  -- application, or one whose officer (department) changed, again.
  SELECT app_id FROM stg_licences
      WHERE kind = 'exemption' AND (decided_on IS NULL OR accepted_on >= getvariable('changed_since'))
  UNION ALL SELECT app_id FROM changed.licences
  UNION ALL SELECT app_id FROM stg_licences WHERE officer_id IN (SELECT officer_id FROM changed.officers)
--- */
WITH applications AS (
    SELECT
        l.app_id, l.ent_code, l.accepted_on, l.decided_on, l.officer_id,
        coalesce(l.decided_on, getvariable('as_of')) AS measured_to
    FROM stg_licences AS l
    WHERE l.kind = 'exemption'
      AND l.accepted_on <= getvariable('as_of')
      AND l.app_id IN (SELECT key FROM scope)
),
limits AS (
    -- The limit is the working day whose index is the limit past the acceptance day's.
    SELECT
        a.*,
        lim.date AS limit_day,
        m.workday_index - lim.workday_index AS wd_late
    FROM applications AS a
    JOIN dim_date AS acc ON acc.date = a.accepted_on
    JOIN dim_date AS lim ON lim.workday_index = acc.workday_index + getvariable('a16_limit_wd') AND lim.is_workday
    JOIN dim_date AS m ON m.date = a.measured_to
)
SELECT
    '1' AS rule_version,
    l.app_id AS object_key,
    l.officer_id,
    o.dept_id,
    l.ent_code,
    CASE
        WHEN l.wd_late <= getvariable('a16_yellow_max_wd') THEN 'yellow'
        WHEN l.wd_late <= getvariable('a16_orange_max_wd') THEN 'orange'
        ELSE 'red'
    END AS colour,
    l.wd_late AS metric,
    CAST(NULL AS DECIMAL(18, 2)) AS amount,
    json_object('accepted_on', l.accepted_on, 'limit_day', l.limit_day, 'decided_on', l.decided_on,
                'wd_late', l.wd_late) AS evidence,
    l.limit_day + 1 AS first_due,
    '' AS period
FROM limits AS l
LEFT JOIN stg_officers AS o ON o.officer_id = l.officer_id
WHERE l.measured_to > l.limit_day
