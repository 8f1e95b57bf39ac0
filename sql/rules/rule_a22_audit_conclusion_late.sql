/* ---
kind: keyed
tags: [rules, audit]
rule:
  id: A22
  name_zh: 稽查超期未结案
  name_en: Audit concluded later than the limit after its report
  category: a
  area: audit
  object_type: audits
  detects: an audit concluded more than 30 calendar days after its report
  grading: days past the limit up to 15 yellow, up to 60 orange, more red
  basis: 稽查条例 23
  method: >
    The limit ends 30 calendar days after the report (counted from the day
    after); a limit ending on a day off moves to the next working day. An audit
    concluded after its limit is measured to the conclusion, an open one to
    the as-of date, in calendar days past the limit.
params: [a22_limit_cd, a22_yellow_max_days, a22_orange_max_days]
parameters:
  - name: a22_limit_cd
    default: 30
    unit: calendar days
    rules: [A22]
    description: an audit is concluded within this many days of its report
  - name: a22_yellow_max_days
    default: 15
    unit: calendar days
    rules: [A22]
    description: days past the limit up to which a late conclusion is yellow
  - name: a22_orange_max_days
    default: 60
    unit: calendar days
    rules: [A22]
    description: days past the limit up to which a late conclusion is orange; red beyond
tests:
  - unique: [object_key]
scope: |
  -- An audit reported but not concluded is measured to the as-of date; a
  -- report the as-of date admits is new, and a conclusion dated after the last
  -- build closes it; a changed audit, or one whose officer (department)
  -- changed, again.
  SELECT audit_id FROM stg_audits
  WHERE (report_on IS NOT NULL AND concluded_on IS NULL)
     OR report_on >= getvariable('changed_since') OR concluded_on >= getvariable('changed_since')
  UNION ALL SELECT audit_id FROM changed.audits
  UNION ALL SELECT audit_id FROM stg_audits WHERE officer_id IN (SELECT officer_id FROM changed.officers)
--- */
WITH reported AS (
    SELECT
        a.audit_id, a.ent_code, a.decl_no, a.report_on, a.concluded_on, a.finding, a.officer_id,
        lim.next_workday AS limit_day,
        coalesce(a.concluded_on, getvariable('as_of')) AS measured_to
    FROM stg_audits AS a
    JOIN dim_date AS lim ON lim.date = a.report_on + getvariable('a22_limit_cd')
    WHERE a.report_on <= getvariable('as_of')
      AND a.audit_id IN (SELECT key FROM scope)
)
SELECT
    '1' AS rule_version,
    r.audit_id AS object_key,
    r.officer_id,
    o.dept_id,
    r.ent_code,
    CASE
        WHEN r.measured_to - r.limit_day <= getvariable('a22_yellow_max_days') THEN 'yellow'
        WHEN r.measured_to - r.limit_day <= getvariable('a22_orange_max_days') THEN 'orange'
        ELSE 'red'
    END AS colour,
    r.measured_to - r.limit_day AS metric,
    CAST(NULL AS DECIMAL(18, 2)) AS amount,
    json_object('report_on', r.report_on, 'limit_day', r.limit_day, 'concluded_on', r.concluded_on,
                'finding', r.finding, 'days_late', r.measured_to - r.limit_day, 'decl_no', r.decl_no) AS evidence,
    r.limit_day + 1 AS first_due,
    '' AS period
FROM reported AS r
LEFT JOIN stg_officers AS o ON o.officer_id = r.officer_id
WHERE r.measured_to > r.limit_day
