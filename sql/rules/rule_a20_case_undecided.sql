/* ---
kind: keyed
tags: [rules, penalty]
rule:
  id: A20
  name_zh: 案件超期未作处罚决定
  name_en: Case not decided within the limit
  category: a
  area: penalty
  object_type: cases
  detects: a case with no decision 90 calendar days after it was filed
  grading: days past the limit up to 30 yellow, up to 90 orange, more red
  basis: 行政处罚法 60
  method: >
    The limit ends 90 calendar days after filing (counted from the day after);
    a limit ending on a day off moves to the next working day. A case decided
    (or closed, decided_on set) after its limit is measured to that day, an
    open case to the as-of date, in calendar days past the limit.
params: [a20_limit_cd, a20_yellow_max_days, a20_orange_max_days]
parameters:
  - name: a20_limit_cd
    default: 90
    unit: calendar days
    rules: [A20]
    description: a case is decided within this many days of filing
  - name: a20_yellow_max_days
    default: 30
    unit: calendar days
    rules: [A20]
    description: days past the limit up to which a late decision is yellow
  - name: a20_orange_max_days
    default: 90
    unit: calendar days
    rules: [A20]
    description: days past the limit up to which a late decision is orange; red beyond
tests:
  - unique: [object_key]
scope: |
  -- An undecided case is measured to the as-of date; a case the as-of date
  -- admits is new, and a decision dated after the last build closes it; a
  -- changed case, or one whose officer (department) changed, again.
  SELECT case_no FROM stg_cases
  WHERE (filed_on IS NOT NULL AND decided_on IS NULL)
     OR filed_on >= getvariable('changed_since') OR decided_on >= getvariable('changed_since')
  UNION ALL SELECT case_no FROM changed.cases
  UNION ALL SELECT case_no FROM stg_cases WHERE officer_id IN (SELECT officer_id FROM changed.officers)
--- */
WITH filed AS (
    SELECT
        c.case_no, c.kind, c.ent_code, c.decl_no, c.filed_on, c.decided_on, c.decision, c.evaded_tax, c.officer_id,
        lim.next_workday AS limit_day,
        coalesce(c.decided_on, getvariable('as_of')) AS measured_to
    FROM stg_cases AS c
    JOIN dim_date AS lim ON lim.date = c.filed_on + getvariable('a20_limit_cd')
    WHERE c.filed_on <= getvariable('as_of')
      AND c.case_no IN (SELECT key FROM scope)
)
SELECT
    '1' AS rule_version,
    f.case_no AS object_key,
    f.officer_id,
    o.dept_id,
    f.ent_code,
    CASE
        WHEN f.measured_to - f.limit_day <= getvariable('a20_yellow_max_days') THEN 'yellow'
        WHEN f.measured_to - f.limit_day <= getvariable('a20_orange_max_days') THEN 'orange'
        ELSE 'red'
    END AS colour,
    f.measured_to - f.limit_day AS metric,
    f.evaded_tax AS amount,
    json_object('kind', f.kind, 'filed_on', f.filed_on, 'limit_day', f.limit_day, 'decided_on', f.decided_on,
                'decision', f.decision, 'days_late', f.measured_to - f.limit_day, 'decl_no', f.decl_no) AS evidence,
    f.limit_day + 1 AS first_due,
    '' AS period
FROM filed AS f
LEFT JOIN stg_officers AS o ON o.officer_id = f.officer_id
WHERE f.measured_to > f.limit_day
