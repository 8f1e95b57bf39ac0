/* ---
kind: keyed
tags: [rules, temporary_admission]
rule:
  id: A10
  name_zh: 暂时进境货物逾期未复运出境
  name_en: Temporarily admitted goods not re-exported by the due date
  category: a
  area: temporary admission
  object_type: temporary_admissions
  detects: a temporary admission whose due date (or extended date) has passed without re-export
  grading: days overdue up to 30 yellow, up to 90 orange, more red
  basis: 海关法 31; 关税法 37
  method: >
    The due date is the extended date when the admission was extended, else
    the original due date. It is a date customs set, not a count of calendar
    days, so it does not move. Days overdue count the calendar days after the
    due date up to the re-export (closed_on), or up to the as-of date while
    the goods are still in the country.
params: [a10_yellow_max_days, a10_orange_max_days]
parameters:
  - name: a10_yellow_max_days
    default: 30
    unit: calendar days
    rules: [A10]
    description: days overdue up to which an admission not re-exported is yellow
  - name: a10_orange_max_days
    default: 90
    unit: calendar days
    rules: [A10]
    description: days overdue up to which an admission not re-exported is orange; red beyond
tests:
  - unique: [object_key]
scope: |
  -- An admission not yet closed (or closed on a day the last build had not
  -- reached) is measured to the as-of date once that is past its due date:
  -- before, it has no row, nor had one (the due date moves only with a
  -- changed record); a changed admission, or one whose officer (department)
  -- changed, again.
  SELECT ta_no FROM stg_temporary_admissions
      WHERE (closed_on IS NULL OR closed_on >= getvariable('changed_since'))
        AND coalesce(extended_until, due_on) < getvariable('as_of')
  UNION ALL SELECT ta_no FROM changed.temporary_admissions
  UNION ALL SELECT ta_no FROM stg_temporary_admissions WHERE officer_id IN (SELECT officer_id FROM changed.officers)
--- */
WITH admissions AS (
    SELECT
        t.ta_no, t.decl_no, t.ent_code, t.officer_id, t.admitted_on, t.due_on, t.extensions, t.extended_until,
        t.closed_on,
        coalesce(t.extended_until, t.due_on) AS due_day,
        -- an admission not yet closed (least() skips the NULL) is measured to the as-of date
        least(t.closed_on, getvariable('as_of')) AS measured_to
    FROM stg_temporary_admissions AS t
    WHERE t.ta_no IN (SELECT key FROM scope)
)
SELECT
    '1' AS rule_version,
    a.ta_no AS object_key,
    a.officer_id,
    o.dept_id,
    a.ent_code,
    CASE
        WHEN a.measured_to - a.due_day <= getvariable('a10_yellow_max_days') THEN 'yellow'
        WHEN a.measured_to - a.due_day <= getvariable('a10_orange_max_days') THEN 'orange'
        ELSE 'red'
    END AS colour,
    a.measured_to - a.due_day AS metric,
    CAST(NULL AS DECIMAL(18, 2)) AS amount,
    json_object('decl_no', a.decl_no, 'admitted_on', a.admitted_on, 'due_on', a.due_on, 'extensions', a.extensions,
                'extended_until', a.extended_until, 'closed_on', a.closed_on,
                'days_overdue', a.measured_to - a.due_day) AS evidence,
    a.due_day + 1 AS first_due,
    '' AS period
FROM admissions AS a
LEFT JOIN stg_officers AS o ON o.officer_id = a.officer_id
WHERE a.measured_to > a.due_day
